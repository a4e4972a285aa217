//===- Heatmap.h - attention maps as PNG heat maps -------------*- C++ -*-===//
//
// Part of tfmc. One matrix (rows: queries, columns: keys, values in [0, 1])
// as a PNG: a perceptually ordered colour map, token labels on both axes
// when there are few enough tokens, a title. libpng writes the file;
// FreeType draws the labels with DejaVu Sans Mono.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUN_HEATMAP_H
#define TFMC_RUN_HEATMAP_H

#include <string>
#include <vector>

namespace tfmc {

struct Heatmap {
  std::string title;
  int rows = 0, cols = 0;
  const float *values = nullptr;                 ///< rows x cols, row-major
  std::vector<std::string> rowLabels, colLabels; ///< empty: no labels
};

/// Writes `map` to `path`; false with `error` set when it cannot.
bool writeHeatmapPNG(const std::string &path, const Heatmap &map,
                     std::string &error);

} // namespace tfmc

#endif // TFMC_RUN_HEATMAP_H
