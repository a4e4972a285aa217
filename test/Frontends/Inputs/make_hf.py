"""Writes tiny random Hugging Face GPT-2 and BERT folders with transformers.

usage: make_hf.py DIR
"""
import os
import sys

import torch
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

d = sys.argv[1]
torch.manual_seed(0)
GPT2LMHeadModel(GPT2Config(n_embd=12, n_head=3, n_layer=1, vocab_size=100,
                           n_positions=16)).save_pretrained(os.path.join(d, "gpt2"),
                                                            safe_serialization=True)
BertModel(BertConfig(hidden_size=12, num_attention_heads=3, num_hidden_layers=1,
                     intermediate_size=20, vocab_size=100,
                     max_position_embeddings=16)).save_pretrained(os.path.join(d, "bert"),
                                                                  safe_serialization=True)
