//===- Heatmap.cpp - attention maps as PNG heat maps ----------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Heatmap.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace tfmc;

namespace {

constexpr const char *kFont =
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

/// An RGB canvas.
struct Image {
  int width, height;
  std::vector<unsigned char> rgb;
  Image(int w, int h) : width(w), height(h), rgb(size_t(w) * h * 3, 255) {}
  void set(int x, int y, const unsigned char c[3]) {
    if (x < 0 || y < 0 || x >= width || y >= height)
      return;
    std::memcpy(&rgb[(size_t(y) * width + x) * 3], c, 3);
  }
  /// Blends black text coverage `a` (0..255) over the pixel.
  void ink(int x, int y, unsigned a) {
    if (x < 0 || y < 0 || x >= width || y >= height)
      return;
    for (int k = 0; k < 3; ++k) {
      unsigned char &p = rgb[(size_t(y) * width + x) * 3 + k];
      p = static_cast<unsigned char>(p * (255 - a) / 255);
    }
  }
};

/// Viridis, sampled at 9 points and interpolated linearly.
void colour(float v, unsigned char out[3]) {
  static const float kStops[9][3] = {
      {68, 1, 84},    {71, 44, 122},  {59, 81, 139},
      {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
      {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  v = std::clamp(std::isfinite(v) ? v : 0.0f, 0.0f, 1.0f) * 8.0f;
  int i = std::min(7, static_cast<int>(v));
  float t = v - i;
  for (int k = 0; k < 3; ++k)
    out[k] = static_cast<unsigned char>(
        std::lround(kStops[i][k] * (1 - t) + kStops[i + 1][k] * t));
}

/// Text drawing with FreeType; draws nothing when the font is missing.
class Text {
public:
  explicit Text(int pixels) {
    if (FT_Init_FreeType(&lib))
      return;
    if (FT_New_Face(lib, kFont, 0, &face)) {
      face = nullptr;
      return;
    }
    FT_Set_Pixel_Sizes(face, 0, pixels);
  }
  ~Text() {
    if (face)
      FT_Done_Face(face);
    if (lib)
      FT_Done_FreeType(lib);
  }
  bool ok() const { return face != nullptr; }
  int advance() const {
    return face ? face->size->metrics.max_advance >> 6 : 0;
  }
  int ascent() const { return face ? face->size->metrics.ascender >> 6 : 0; }

  /// Draws UTF-8 `s` with its baseline starting at (x, y); `vertical`
  /// rotates it 90 degrees counter-clockwise (reading bottom to top).
  /// Returns the advance in pixels.
  int draw(Image &img, int x, int y, const std::string &s,
           bool vertical = false) {
    if (!face)
      return 0;
    int pen = 0;
    for (size_t i = 0; i < s.size();) {
      // Decode one UTF-8 character (invalid bytes draw as '?').
      unsigned char c = s[i];
      char32_t cp = '?';
      int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (len == 1)
        cp = c;
      else if (i + len <= s.size()) {
        cp = c & (0x7F >> len);
        for (int k = 1; k < len; ++k)
          cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
      i += len;
      if (FT_Load_Char(face, cp, FT_LOAD_RENDER))
        continue;
      FT_GlyphSlot g = face->glyph;
      const FT_Bitmap &bm = g->bitmap;
      for (unsigned r = 0; r < bm.rows; ++r)
        for (unsigned col = 0; col < bm.width; ++col) {
          unsigned a = bm.buffer[r * bm.pitch + col];
          if (!a)
            continue;
          int gx = pen + g->bitmap_left + int(col);
          int gy = -g->bitmap_top + int(r);
          if (vertical)
            img.ink(x + gy, y - gx, a);
          else
            img.ink(x + gx, y + gy, a);
        }
      pen += g->advance.x >> 6;
    }
    return pen;
  }

private:
  FT_Library lib = nullptr;
  FT_Face face = nullptr;
};

/// A label as it reads on an axis: whitespace made visible, clipped.
std::string visible(const std::string &s, size_t maxChars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size() && chars < maxChars; ++i) {
    unsigned char c = s[i];
    if (c == ' ')
      out += "\u2423"; // open box
    else if (c == '\n')
      out += "\u21b5"; // return arrow
    else if (c == '\t')
      out += "\u2192";
    else
      out += s[i];
    if ((c & 0xC0) != 0x80)
      ++chars;
  }
  return out;
}

} // namespace

bool tfmc::writeHeatmapPNG(const std::string &path, const Heatmap &map,
                           std::string &error) {
  const int n = std::max(map.rows, map.cols);
  const int cell = std::clamp(640 / std::max(1, n), 2, 28);
  Text text(11);
  bool labels = text.ok() && !map.rowLabels.empty() &&
                static_cast<int>(map.rowLabels.size()) == map.rows &&
                static_cast<int>(map.colLabels.size()) == map.cols &&
                cell >= 10;
  const size_t maxChars = 10;
  int labelSpace = labels ? text.advance() * int(maxChars) + 8 : 0;
  int titleSpace = text.ok() ? 22 : 4;
  int left = 8 + labelSpace, top = titleSpace + labelSpace;
  int legend = 16; // colour bar on the right
  Image img(left + map.cols * cell + 12 + legend + 8,
            top + map.rows * cell + 8);

  for (int r = 0; r < map.rows; ++r)
    for (int c = 0; c < map.cols; ++c) {
      unsigned char rgb[3];
      colour(map.values[size_t(r) * map.cols + c], rgb);
      for (int y = 0; y < cell; ++y)
        for (int x = 0; x < cell; ++x)
          img.set(left + c * cell + x, top + r * cell + y, rgb);
    }
  // Colour bar: 1 at the top, 0 at the bottom.
  int barX = left + map.cols * cell + 12, barH = map.rows * cell;
  for (int y = 0; y < barH; ++y) {
    unsigned char rgb[3];
    colour(1.0f - float(y) / std::max(1, barH - 1), rgb);
    for (int x = 0; x < legend; ++x)
      img.set(barX + x, top + y, rgb);
  }
  if (text.ok())
    text.draw(img, 8, 16, map.title);
  if (labels) {
    int asc = text.ascent();
    for (int r = 0; r < map.rows; ++r)
      text.draw(img, 8, top + r * cell + (cell + asc) / 2 - 1,
                visible(map.rowLabels[r], maxChars));
    for (int c = 0; c < map.cols; ++c)
      text.draw(img, left + c * cell + (cell + asc) / 2 - 1, top - 4,
                visible(map.colLabels[c], maxChars), /*vertical=*/true);
  }

  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(path.c_str());
    error = path + ": libpng failed to write the image";
    return false;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, img.width, img.height, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_text t;
  std::memset(&t, 0, sizeof t);
  t.compression = PNG_TEXT_COMPRESSION_NONE;
  t.key = const_cast<char *>("Title");
  t.text = const_cast<char *>(map.title.c_str());
  png_set_text(png, info, &t, 1);
  png_write_info(png, info);
  for (int y = 0; y < img.height; ++y)
    png_write_row(png, &img.rgb[size_t(y) * img.width * 3]);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(f) != 0) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  return true;
}
