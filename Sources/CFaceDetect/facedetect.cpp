#include "facetwin_facedetect.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <vector>

struct facetwin_face_detector {
    dlib::frontal_face_detector detector;
    dlib::shape_predictor landmarks;
    bool hasLandmarks = false;
    std::mutex lock;
};

static void put(char *message, size_t size, const std::string &text) {
    if (message && size > 0) {
        size_t n = std::min(size - 1, text.size());
        memcpy(message, text.data(), n);
        message[n] = 0;
    }
}

static std::string oneLine(std::string what) {
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    std::replace(what.begin(), what.end(), '\n', ' ');
    return what;
}

extern "C" facetwin_face_detector *facetwin_face_detector_create(const char *landmark_model, int32_t *status,
                                                                 char *message, size_t message_size) {
    return facetwin_face_detector_create_with(landmark_model, nullptr, 0, status, message, message_size);
}

extern "C" facetwin_face_detector *facetwin_face_detector_create_with(const char *landmark_model,
                                                                      const uint8_t *detector, size_t detector_size,
                                                                      int32_t *status, char *message,
                                                                      size_t message_size) {
    try {
        auto *d = new facetwin_face_detector();
        if (detector) {
            try {
                std::istringstream in(std::string(reinterpret_cast<const char *>(detector), detector_size));
                dlib::deserialize(d->detector, in);
                // dlib's frontal detector: 5 HOG filters (front, left, right, front rotated left and right).
                if (d->detector.num_detectors() < 1 || d->detector.num_detectors() > 16) {
                    throw dlib::serialization_error("it holds " + std::to_string(d->detector.num_detectors()) +
                                                    " detectors");
                }
            } catch (const std::bad_alloc &) {
                throw;
            } catch (const std::exception &e) {
                delete d;
                *status = FACETWIN_DETECT_DETECTOR_UNREADABLE;
                put(message, message_size, "not a dlib frontal face detector: " + oneLine(e.what()));
                return nullptr;
            }
        } else {
            // Built once a process: dlib decompresses it from the copy compiled into libdlib.
            static const dlib::frontal_face_detector prototype = dlib::get_frontal_face_detector();
            d->detector = prototype;
        }
        if (landmark_model) {
            std::ifstream in(landmark_model, std::ios::binary);
            if (!in) {
                delete d;
                *status = FACETWIN_DETECT_MODEL_UNREADABLE;
                put(message, message_size, std::string("cannot open: ") + strerror(errno));
                return nullptr;
            }
            try {
                dlib::deserialize(d->landmarks, in);
            } catch (const std::exception &e) {
                delete d;
                *status = FACETWIN_DETECT_MODEL_UNREADABLE;
                put(message, message_size, "not a dlib shape predictor: " + oneLine(e.what()));
                return nullptr;
            }
            if (d->landmarks.num_parts() != 68) {
                size_t parts = d->landmarks.num_parts();
                delete d;
                *status = FACETWIN_DETECT_MODEL_UNREADABLE;
                put(message, message_size, "expected a 68-point landmark model, this one has " + std::to_string(parts) + " points");
                return nullptr;
            }
            d->hasLandmarks = true;
        }
        *status = FACETWIN_DETECT_OK;
        return d;
    } catch (const std::bad_alloc &) {
        *status = FACETWIN_DETECT_NO_MEMORY;
        put(message, message_size, "out of memory");
    } catch (const std::exception &e) {
        *status = FACETWIN_DETECT_FAILED;
        put(message, message_size, e.what());
    } catch (...) {
        *status = FACETWIN_DETECT_FAILED;
        put(message, message_size, "unknown C++ exception");
    }
    return nullptr;
}

extern "C" void facetwin_face_detector_destroy(facetwin_face_detector *detector) { delete detector; }

extern "C" int32_t facetwin_face_detector_export(uint8_t **bytes, size_t *size, char *message, size_t message_size) {
    if (!bytes || !size) {
        put(message, message_size, "bad argument");
        return FACETWIN_DETECT_BAD_ARGUMENT;
    }
    try {
        std::ostringstream out;
        dlib::serialize(dlib::get_frontal_face_detector(), out);
        const std::string data = out.str();
        *bytes = static_cast<uint8_t *>(malloc(data.size()));
        if (!*bytes) throw std::bad_alloc();
        memcpy(*bytes, data.data(), data.size());
        *size = data.size();
        return FACETWIN_DETECT_OK;
    } catch (const std::bad_alloc &) {
        put(message, message_size, "out of memory");
        return FACETWIN_DETECT_NO_MEMORY;
    } catch (const std::exception &e) {
        put(message, message_size, e.what());
        return FACETWIN_DETECT_FAILED;
    }
}

extern "C" int32_t facetwin_face_detect(facetwin_face_detector *d, const uint8_t *pixels, int32_t width,
                                        int32_t height, int32_t stride, int32_t upsample, facetwin_face *faces,
                                        int32_t capacity, int32_t *count, char *message, size_t message_size) {
    if (!d || !pixels || width <= 0 || height <= 0 || stride < width || upsample < 0 || upsample > 3 ||
        capacity < 0 || (capacity > 0 && !faces) || !count) {
        put(message, message_size, "bad argument");
        return FACETWIN_DETECT_BAD_ARGUMENT;
    }
    try {
        std::lock_guard<std::mutex> guard(d->lock);
        dlib::array2d<unsigned char> img(height, width);
        for (int32_t y = 0; y < height; y++) memcpy(&img[y][0], pixels + (size_t)y * stride, (size_t)width);
        double scale = 1;
        for (int32_t i = 0; i < upsample; i++) {
            dlib::pyramid_up(img);
            scale *= 2;
        }
        std::vector<dlib::rect_detection> found;
        d->detector(img, found, 0.0);
        std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) {
            return a.detection_confidence > b.detection_confidence;
        });
        *count = (int32_t)found.size();
        for (int32_t i = 0; i < (int32_t)found.size() && i < capacity; i++) {
            const auto &r = found[i].rect;
            facetwin_face &f = faces[i];
            f.x = (float)(r.left() / scale);
            f.y = (float)(r.top() / scale);
            f.width = (float)((r.right() - r.left() + 1) / scale);
            f.height = (float)((r.bottom() - r.top() + 1) / scale);
            f.confidence = (float)found[i].detection_confidence;
            f.has_eyes = 0;
            f.left_eye_x = f.left_eye_y = f.right_eye_x = f.right_eye_y = 0;
            if (d->hasLandmarks) {
                dlib::full_object_detection shape = d->landmarks(img, r);
                double lx = 0, ly = 0, rx = 0, ry = 0;
                for (int j = 36; j < 42; j++) { lx += shape.part(j).x(); ly += shape.part(j).y(); }
                for (int j = 42; j < 48; j++) { rx += shape.part(j).x(); ry += shape.part(j).y(); }
                // Landmarks are pixel indices of the (upsampled) image; +0.5 is the pixel's centre.
                f.left_eye_x = (float)((lx / 6 + 0.5) / scale);
                f.left_eye_y = (float)((ly / 6 + 0.5) / scale);
                f.right_eye_x = (float)((rx / 6 + 0.5) / scale);
                f.right_eye_y = (float)((ry / 6 + 0.5) / scale);
                f.has_eyes = 1;
            }
        }
        return FACETWIN_DETECT_OK;
    } catch (const std::bad_alloc &) {
        put(message, message_size, "out of memory");
        return FACETWIN_DETECT_NO_MEMORY;
    } catch (const std::exception &e) {
        put(message, message_size, e.what());
        return FACETWIN_DETECT_FAILED;
    } catch (...) {
        put(message, message_size, "unknown C++ exception");
        return FACETWIN_DETECT_FAILED;
    }
}
