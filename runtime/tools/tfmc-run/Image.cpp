//===- Image.cpp - tfmc-run's --image -------------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Image.h"
#include "Generate.h"
#include "Npy.h"
#include "tfmc/abi.h"
#include "tfmc/limits.h"

#include "../../src/FileRead.h"

#include <png.h>
// jpeglib.h needs FILE and size_t first.
#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <numeric>

using namespace tfmc;

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

namespace {

bool readPng(const std::string &path, const std::string &bytes, Image &out,
             std::string &error) {
  png_image im;
  std::memset(&im, 0, sizeof(im));
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&im, bytes.data(), bytes.size())) {
    error = path + ": not a readable PNG file (" + im.message + ")";
    return false;
  }
  bool color = im.format & PNG_FORMAT_FLAG_COLOR;
  bool alpha = im.format & PNG_FORMAT_FLAG_ALPHA;
  out.channels = (color ? 3 : 1) + (alpha ? 1 : 0);
  im.format = color ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB)
                    : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  out.width = im.width;
  out.height = im.height;
  out.pixels.resize(PNG_IMAGE_SIZE(im));
  if (!png_image_finish_read(&im, nullptr, out.pixels.data(), 0, nullptr)) {
    error = path + ": corrupt PNG data (" + im.message + ")";
    png_image_free(&im);
    return false;
  }
  return true;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpegFail(j_common_ptr cinfo) {
  auto *e = reinterpret_cast<JpegError *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

bool readJpeg(const std::string &path, const std::string &bytes, Image &out,
              std::string &error) {
  jpeg_decompress_struct cinfo;
  JpegError jerr;
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = jpegFail;
  if (setjmp(jerr.jump)) {
    error = path + ": corrupt JPEG data (" + jerr.message + ")";
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char *>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK ||
      cinfo.jpeg_color_space == JCS_YCCK) {
    error = path + ": a CMYK JPEG; convert it to RGB";
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  // As PIL decodes: libjpeg's defaults (ISLOW DCT, fancy upsampling).
  cinfo.out_color_space =
      cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.width = cinfo.output_width;
  out.height = cinfo.output_height;
  out.channels = cinfo.output_components;
  out.pixels.resize(out.width * out.height * out.channels);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.pixels.data() +
                   size_t(cinfo.output_scanline) * out.width * out.channels;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

} // namespace

bool tfmc::readImage(const std::string &path, Image &out, std::string &error) {
  std::string bytes;
  if (!tfmc::rt::readFile(path, TFMC_MAX_DATA_FILE_BYTES, bytes, error))
    return false;
  const unsigned char *sig =
      reinterpret_cast<const unsigned char *>(bytes.data());
  size_t n = bytes.size();
  static const unsigned char kPng[8] = {0x89, 'P',  'N',  'G',
                                        0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 8 && std::memcmp(sig, kPng, 8) == 0)
    return readPng(path, bytes, out, error);
  if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF)
    return readJpeg(path, bytes, out, error);
  error = path + ": not a PNG or JPEG image";
  return false;
}

//===----------------------------------------------------------------------===//
// Resizing as Pillow does
//===----------------------------------------------------------------------===//

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

/// For each output position along one axis, the first input index, the
/// tap count and fixed-point weights of Pillow's bilinear (triangle)
/// filter, widened by the scale when shrinking (antialiasing).
struct Coeffs {
  int64_t taps = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights; // [out][taps]
};

Coeffs coefficients(int64_t inSize, int64_t outSize) {
  Coeffs c;
  double scale = double(inSize) / double(outSize);
  double filterScale = std::max(scale, 1.0);
  double support = 1.0 * filterScale;
  c.taps = int64_t(std::ceil(support)) * 2 + 1;
  c.first.resize(outSize);
  c.count.resize(outSize);
  c.weights.assign(outSize * c.taps, 0);
  std::vector<double> k(c.taps);
  for (int64_t o = 0; o < outSize; ++o) {
    double center = (o + 0.5) * scale;
    double inv = 1.0 / filterScale;
    int64_t lo = std::max<int64_t>(0, int64_t(center - support + 0.5));
    int64_t hi = std::min<int64_t>(inSize, int64_t(center + support + 0.5));
    int64_t n = hi - lo;
    double sum = 0.0;
    for (int64_t x = 0; x < n; ++x) {
      double t = std::fabs((x + lo - center + 0.5) * inv);
      k[x] = t < 1.0 ? 1.0 - t : 0.0;
      sum += k[x];
    }
    for (int64_t x = 0; x < n; ++x) {
      double w = sum != 0.0 ? k[x] / sum : k[x];
      c.weights[o * c.taps + x] =
          int32_t(w < 0 ? -0.5 + w * (1 << kPrecisionBits)
                        : 0.5 + w * (1 << kPrecisionBits));
    }
    c.first[o] = lo;
    c.count[o] = n;
  }
  return c;
}

uint8_t clip8(int64_t ss) {
  int64_t v = ss >> kPrecisionBits;
  return uint8_t(std::clamp<int64_t>(v, 0, 255));
}

} // namespace

Image tfmc::resizeBilinear(const Image &in, int64_t width, int64_t height) {
  const int64_t ch = in.channels;
  Coeffs h = coefficients(in.width, width), v = coefficients(in.height, height);
  bool needH = width != in.width, needV = height != in.height;
  // Rows the vertical pass reads.
  int64_t rowFirst = v.first[0];
  int64_t rowLast = v.first[height - 1] + v.count[height - 1];
  Image tmp;
  const Image *src = &in;
  int64_t rowOffset = 0;
  if (needH) {
    tmp.width = width;
    tmp.height = needV ? rowLast - rowFirst : in.height;
    tmp.channels = ch;
    tmp.pixels.resize(tmp.width * tmp.height * ch);
    int64_t base = needV ? rowFirst : 0;
    for (int64_t y = 0; y < tmp.height; ++y)
      for (int64_t x = 0; x < width; ++x)
        for (int64_t c = 0; c < ch; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int64_t t = 0; t < h.count[x]; ++t)
            ss += int64_t(
                      in.pixels[((y + base) * in.width + h.first[x] + t) * ch +
                                c]) *
                  h.weights[x * h.taps + t];
          tmp.pixels[(y * width + x) * ch + c] = clip8(ss);
        }
    src = &tmp;
    rowOffset = needV ? rowFirst : 0;
  }
  if (!needV)
    return needH ? tmp : in;
  Image out;
  out.width = width;
  out.height = height;
  out.channels = ch;
  out.pixels.resize(width * height * ch);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int64_t c = 0; c < ch; ++c) {
        int64_t ss = int64_t(1) << (kPrecisionBits - 1);
        for (int64_t t = 0; t < v.count[y]; ++t)
          ss +=
              int64_t(
                  src->pixels[((v.first[y] - rowOffset + t) * width + x) * ch +
                              c]) *
              v.weights[y * v.taps + t];
        out.pixels[(y * width + x) * ch + c] = clip8(ss);
      }
  return out;
}

//===----------------------------------------------------------------------===//
// --image
//===----------------------------------------------------------------------===//

int tfmc::classify(Model &model, const std::vector<std::string> &paths,
                   int threads, const std::string &outputDir) {
  tfmc_image_preprocessing p;
  if (tfmc_model_image_preprocessing(model.get(), &p) != TFMC_OK)
    return fail(std::string(tfmc_last_error()) +
                "; give pixel_values with --input instead");
  tfmc_tensor_spec spec{};
  bool found = false;
  for (const tfmc_tensor_spec &s : model.inputs(TFMC_ENTRY_FORWARD))
    if (std::string(s.name) == "pixel_values") {
      spec = s;
      found = true;
    }
  if (!found || spec.rank != 4 || spec.dtype != TFMC_DTYPE_FLOAT32)
    return fail("--image needs a vision model (an entry forward taking "
                "pixel_values)");
  int64_t batch = spec.shape[0], ch = spec.shape[1], hh = spec.shape[2],
          ww = spec.shape[3];
  if (int64_t(paths.size()) != batch)
    return fail("the model was compiled for batch " + std::to_string(batch) +
                ": give " + std::to_string(batch) +
                " --image (or recompile "
                "with --batch " +
                std::to_string(paths.size()) + ")");
  std::vector<float> pixels(batch * ch * hh * ww);
  for (int64_t i = 0; i < batch; ++i) {
    Image im;
    std::string error;
    if (!readImage(paths[i], im, error))
      return fail(error);
    if (im.channels != ch)
      return fail(paths[i] + ": the image has " + std::to_string(im.channels) +
                  " channel(s) (" +
                  (im.channels == 1   ? "grey"
                   : im.channels == 2 ? "grey + alpha"
                   : im.channels == 3 ? "RGB"
                                      : "RGBA") +
                  "); the model takes " + std::to_string(ch) +
                  (ch == 3 ? " (RGB)" : ""));
    if (p.resize)
      im = resizeBilinear(im, p.width, p.height);
    if (im.width != ww || im.height != hh)
      return fail(paths[i] + ": the image is " + std::to_string(im.width) +
                  "x" + std::to_string(im.height) +
                  " and the model's "
                  "preprocessing does not resize it to " +
                  std::to_string(ww) + "x" + std::to_string(hh));
    // As ViTImageProcessor computes it: uint8 * rescale in double, then
    // float32; (x - mean) / std in float32; channels first.
    for (int64_t c = 0; c < ch; ++c) {
      float mean = float(p.mean[c]), sd = float(p.std[c]);
      for (int64_t y = 0; y < hh; ++y)
        for (int64_t x = 0; x < ww; ++x) {
          uint8_t u = im.pixels[(y * ww + x) * ch + c];
          float v = p.rescale != 0 ? float(double(u) * p.rescale) : float(u);
          pixels[((i * ch + c) * hh + y) * ww + x] = (v - mean) / sd;
        }
    }
  }
  Session session = model.session(TFMC_ENTRY_FORWARD);
  if (threads)
    session.setNumThreads(threads);
  session.setInput("pixel_values", TFMC_DTYPE_FLOAT32, {batch, ch, hh, ww},
                   pixels.data());
  session.run();
  if (!outputDir.empty()) {
    std::string error;
    if (!makeDirs(outputDir, error) ||
        !writeNpy(outputDir + "/pixel_values.npy", TFMC_DTYPE_FLOAT32,
                  {batch, ch, hh, ww}, pixels.data(),
                  pixels.size() * sizeof(float), error))
      return fail(error);
    for (const tfmc_tensor_spec &o : model.outputs(TFMC_ENTRY_FORWARD)) {
      tfmc_tensor_view v = session.output(o.name);
      if (!writeNpy(outputDir + "/" + o.name + ".npy", v.dtype,
                    std::vector<int64_t>(v.shape, v.shape + v.rank), v.data,
                    v.bytes, error))
        return fail(error);
    }
  }
  bool classifier = false;
  for (const tfmc_tensor_spec &o : model.outputs(TFMC_ENTRY_FORWARD))
    classifier |= std::string(o.name) == TFMC_IO_LOGITS;
  if (!classifier) {
    std::printf("no classifier: last_hidden_state of %lld image(s)%s\n",
                static_cast<long long>(batch),
                outputDir.empty() ? " (write it with --output-dir)" : "");
    return 0;
  }
  tfmc_tensor_view logits = session.output(TFMC_IO_LOGITS);
  int64_t labels = logits.shape[1];
  const float *l = static_cast<const float *>(logits.data);
  for (int64_t i = 0; i < batch; ++i) {
    const float *row = l + i * labels;
    // Softmax in double, the top 5 by probability (ties: lower id first).
    double mx = *std::max_element(row, row + labels), sum = 0;
    std::vector<double> prob(labels);
    for (int64_t k = 0; k < labels; ++k)
      sum += prob[k] = std::exp(double(row[k]) - mx);
    std::vector<int64_t> order(labels);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return prob[a] != prob[b] ? prob[a] > prob[b] : a < b;
    });
    std::printf("image %lld (%s):\n", static_cast<long long>(i + 1),
                paths[i].c_str());
    for (int64_t k = 0; k < std::min<int64_t>(5, labels); ++k) {
      const char *name = tfmc_model_label(model.get(), order[k]);
      std::printf("  %8.6f  %lld %s\n", prob[order[k]] / sum,
                  static_cast<long long>(order[k]), name ? name : "");
    }
  }
  return 0;
}
