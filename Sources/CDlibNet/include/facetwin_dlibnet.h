// C interface to dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1.dat,
// `anet_type` of dlib's examples/dnn_face_recognition_ex.cpp) and to dlib's 5-point face chip
// alignment, for FaceTwin's model import, parity tests and benchmarks. C++ exceptions never
// cross this boundary: every function catches them and returns a status with a one-line message.
#ifndef FACETWIN_DLIBNET_H
#define FACETWIN_DLIBNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACETWIN_DLIBNET_OK = 0,
    FACETWIN_DLIBNET_BAD_ARGUMENT = 1,
    /// The file cannot be opened or read (missing, a directory, permission).
    FACETWIN_DLIBNET_UNREADABLE = 2,
    /// The bytes are not the expected dlib object (truncated, another network, other layout).
    FACETWIN_DLIBNET_NOT_MODEL = 3,
    FACETWIN_DLIBNET_NO_MEMORY = 4,
    FACETWIN_DLIBNET_FAILED = 5,
};

/// Largest model file read (the ResNet is about 22 MB, the 5-point predictor 9 MB).
enum { FACETWIN_DLIBNET_MAX_FILE_BYTES = 64 * 1024 * 1024 };
/// dlib's chip size for this network.
#define FACETWIN_DLIBNET_CHIP_SIZE 150
#define FACETWIN_DLIBNET_EMBEDDING 128

typedef struct facetwin_dlibnet facetwin_dlibnet;

/// Deserialises `path` as dlib's anet_type and checks every layer against the architecture
/// (kernel sizes, strides, paddings, channel counts, parameter tensor sizes). On failure returns
/// NULL, sets *status and writes a one-line message (without the path).
facetwin_dlibnet *facetwin_dlibnet_load(const char *path, int32_t *status, char *message, size_t message_size);
void facetwin_dlibnet_destroy(facetwin_dlibnet *net);

/// Number of parameter tensors (117: stem conv and affine 4, 14 blocks x 8, fc 1).
int32_t facetwin_dlibnet_tensor_count(const facetwin_dlibnet *net);
/// Tensor `index` (forward order): its name as in FaceTwin's model file (`conv1.weight`,
/// `blocks.3.affine2.bias`, `fc.weight`, ...), rank, shape (unused entries 0) and F32 data,
/// row-major in that layout: convolution filters OIHW, fc.weight [128, 256] (out x in). The
/// pointers stay valid until facetwin_dlibnet_destroy. Returns FACETWIN_DLIBNET_OK or
/// FACETWIN_DLIBNET_BAD_ARGUMENT.
int32_t facetwin_dlibnet_tensor(const facetwin_dlibnet *net, int32_t index, const char **name, int32_t *rank,
                                int64_t shape[4], const float **data);
/// The architecture as read from the file, compact JSON (the `architecture` metadata of
/// FaceTwin's model file). Valid until facetwin_dlibnet_destroy.
const char *facetwin_dlibnet_architecture(const facetwin_dlibnet *net);

/// dlib's own forward: `n` chips, each 150x150 interleaved RGB bytes (row-major, 3 bytes per
/// pixel, no row padding) -> n x 128 floats (dlib's descriptor, not normalised), run as one batch
/// of n. Serialized per net. For parity tests and benchmarks.
int32_t facetwin_dlibnet_forward(facetwin_dlibnet *net, const uint8_t *rgb, int32_t n, float *out, char *message,
                                 size_t message_size);

typedef struct facetwin_chipper facetwin_chipper;

/// Deserialises dlib's 5-point shape predictor (shape_predictor_5_face_landmarks.dat) from
/// memory and checks its structure (5 parts, every tree and feature index in range).
facetwin_chipper *facetwin_chipper_create(const uint8_t *model, size_t model_size, int32_t *status, char *message,
                                          size_t message_size);
void facetwin_chipper_destroy(facetwin_chipper *chipper);

/// For the face box [left, right] x [top, bottom] (dlib's inclusive pixel rectangle) of an RGB
/// image (`stride` bytes between rows, 3 bytes per pixel): runs the shape predictor on the
/// colour image, writes the 5 landmarks to `landmarks` (x0, y0, ..., x4, y4; dlib's pixel
/// index coordinates: pixel (i, j) is the point (i, j)) and dlib's chip
/// extract_image_chip(img, get_face_chip_details(shape, chip_size, padding)) to `chip`
/// (chip_size x chip_size interleaved RGB). Serialized per chipper.
int32_t facetwin_chipper_chip(facetwin_chipper *chipper, const uint8_t *rgb, int32_t width, int32_t height,
                              int32_t stride, int64_t left, int64_t top, int64_t right, int64_t bottom,
                              int32_t chip_size, double padding, uint8_t *chip, float landmarks[10], char *message,
                              size_t message_size);

#ifdef __cplusplus
}
#endif
#endif
