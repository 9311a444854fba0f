// C interface to dlib's face detector (HOG + linear SVM, frontal faces) and its 68-point
// landmark model, for FaceTwin's Swift code. C++ exceptions never cross this boundary: every
// function catches them and returns a status with a message.
#ifndef FACETWIN_FACEDETECT_H
#define FACETWIN_FACEDETECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FACETWIN_DETECT_OK = 0,
    FACETWIN_DETECT_BAD_ARGUMENT = 1,
    FACETWIN_DETECT_MODEL_UNREADABLE = 2,
    FACETWIN_DETECT_NO_MEMORY = 3,
    FACETWIN_DETECT_FAILED = 4,
    FACETWIN_DETECT_DETECTOR_UNREADABLE = 5,
};

typedef struct facetwin_face_detector facetwin_face_detector;

/// One face: its box in image pixels (x, y = top-left corner), dlib's detection confidence
/// (SVM margin; > 0 is a detection), and when a landmark model is loaded the two eye centres
/// (mean of landmarks 36-41, the eye on the image's left, and 42-47), in pixel-centre
/// coordinates (pixel (i, j) covers [i, i+1) x [j, j+1)).
typedef struct {
    float x, y, width, height;
    float confidence;
    int32_t has_eyes;
    float left_eye_x, left_eye_y;
    float right_eye_x, right_eye_y;
} facetwin_face;

/// Creates a detector; `landmark_model` (dlib's shape_predictor_68_face_landmarks.dat) may be
/// NULL for boxes only. On failure returns NULL, sets *status and writes a message.
facetwin_face_detector *facetwin_face_detector_create(const char *landmark_model, int32_t *status,
                                                      char *message, size_t message_size);
/// The same with the detector itself read from `detector` (`detector_size` bytes of dlib's
/// serialization of a frontal face detector, as facetwin_face_detector_export writes it) instead
/// of built from the copy compiled into libdlib, which dlib decompresses on every start; NULL
/// builds it so. Bytes that are not one: NULL, FACETWIN_DETECT_DETECTOR_UNREADABLE.
facetwin_face_detector *facetwin_face_detector_create_with(const char *landmark_model, const uint8_t *detector,
                                                           size_t detector_size, int32_t *status, char *message,
                                                           size_t message_size);
void facetwin_face_detector_destroy(facetwin_face_detector *detector);

/// dlib's serialization of libdlib's frontal face detector, in a buffer the caller frees with
/// free(): what facetwin_face_detector_create_with reads.
int32_t facetwin_face_detector_export(uint8_t **bytes, size_t *size, char *message, size_t message_size);

/// Detects faces in an 8-bit grey image (rows `stride` bytes apart), upsampling it 2x
/// `upsample` times first (each time halves the smallest face found, about 80 px at 0).
/// Writes up to `capacity` faces, best first, and the number found to *count (which may exceed
/// capacity). Serialized per detector: safe to call from several threads.
int32_t facetwin_face_detect(facetwin_face_detector *detector, const uint8_t *pixels, int32_t width,
                             int32_t height, int32_t stride, int32_t upsample, facetwin_face *faces,
                             int32_t capacity, int32_t *count, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif
#endif
