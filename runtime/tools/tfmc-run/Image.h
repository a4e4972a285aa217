//===- Image.h - tfmc-run's --image: images for vision models ---*- C++ -*-===//
//
// Part of tfmc. Decodes PNG and JPEG files, turns them into a vision
// model's pixel_values exactly as Hugging Face's ViTImageProcessor does
// (PIL's bilinear resize on 8-bit values, rescale, normalise), runs the
// model and prints each image's top-5 classes.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUN_IMAGE_H
#define TFMC_RUN_IMAGE_H

#include "tfmc/runtime.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tfmc {

/// An 8-bit image, interleaved channels (1: grey, 2: grey+alpha, 3: RGB,
/// 4: RGBA), rows top to bottom.
struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

/// Reads a PNG or JPEG file (by its signature); false with `error` naming
/// the file otherwise.
bool readImage(const std::string &path, Image &out, std::string &error);

/// PIL's Image.resize(..., BILINEAR) of an 8-bit image (Pillow's
/// fixed-point two-pass resampling, horizontal pass first).
Image resizeBilinear(const Image &in, int64_t width, int64_t height);

/// --image: classifies (or, without a classifier, embeds) the images; one
/// per batch row of the model's pixel_values.
int classify(Model &model, const std::vector<std::string> &images, int threads,
             const std::string &outputDir);

} // namespace tfmc

#endif // TFMC_RUN_IMAGE_H
