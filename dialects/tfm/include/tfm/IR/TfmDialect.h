//===- TfmDialect.h - tfm dialect -------------------------------*- C++ -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMDIALECT_H
#define TFM_IR_TFMDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dialect.h"

#include "tfm/IR/TfmOpsDialect.h.inc"

#endif // TFM_IR_TFMDIALECT_H
