// Measures candidate face detectors on the same photos, to choose one for FaceTwin.
// Not part of the product. Needs libopencv-objdetect-dev, opencv-data and libdlib-dev; build with
//   g++ -O2 -std=c++17 scripts/detector-bench.cpp $(pkg-config --cflags --libs opencv4) \
//       -ldlib -llapack -lblas -lpthread -o /tmp/detector-bench
//
//   detector-bench faces METHOD PHOTO...   one line per detection: path<TAB>x y w h score,
//                                          and "#time path ms" per photo
//   detector-bench eyes METHOD ORL_DIR     mean eye centres over ORL crops (each placed 3x on
//                                          a grey canvas), as fractions of the 92x112 crop
// METHOD: haar-default, haar-alt2, lbp, lbp-improved, dlib0, dlib1 (HOG, upsampled 0 or 1 times)
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>

#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <string>
#include <vector>

struct Det { cv::Rect r; double score; };

static const std::string kCascades = "/usr/share/opencv4/";

struct Detector {
    std::string method;
    cv::CascadeClassifier cascade;
    dlib::frontal_face_detector hog;
    int upsample = 0;
    explicit Detector(const std::string& m) : method(m) {
        std::string file;
        if (m == "haar-default") file = "haarcascades/haarcascade_frontalface_default.xml";
        else if (m == "haar-alt2") file = "haarcascades/haarcascade_frontalface_alt2.xml";
        else if (m == "lbp") file = "lbpcascades/lbpcascade_frontalface.xml";
        else if (m == "lbp-improved") file = "lbpcascades/lbpcascade_frontalface_improved.xml";
        else if (m == "dlib0" || m == "dlib1") { hog = dlib::get_frontal_face_detector(); upsample = m == "dlib1"; return; }
        else { fprintf(stderr, "unknown method %s\n", m.c_str()); exit(2); }
        if (!cascade.load(kCascades + file)) { fprintf(stderr, "cannot load %s\n", file.c_str()); exit(2); }
    }
    std::vector<Det> detect(const cv::Mat& gray) {
        std::vector<Det> out;
        if (method.rfind("dlib", 0) == 0) {
            dlib::cv_image<unsigned char> img(gray);
            std::vector<dlib::rect_detection> dets;
            if (upsample) {
                dlib::array2d<unsigned char> up;
                dlib::assign_image(up, img);
                dlib::pyramid_up(up);
                hog(up, dets, 0.0);
                for (auto& d : dets) out.push_back({cv::Rect(d.rect.left() / 2, d.rect.top() / 2, d.rect.width() / 2, d.rect.height() / 2), d.detection_confidence});
            } else {
                hog(img, dets, 0.0);
                for (auto& d : dets) out.push_back({cv::Rect(d.rect.left(), d.rect.top(), d.rect.width(), d.rect.height()), d.detection_confidence});
            }
            return out;
        }
        cv::Mat eq;
        cv::equalizeHist(gray, eq);
        std::vector<cv::Rect> rects;
        std::vector<int> levels;
        std::vector<double> weights;
        cascade.detectMultiScale(eq, rects, levels, weights, 1.1, 4, 0, cv::Size(24, 24), cv::Size(), true);
        for (size_t i = 0; i < rects.size(); i++) out.push_back({rects[i], weights.empty() ? 0 : weights[i]});
        return out;
    }
};

static int faces(const std::string& method, int argc, char** argv) {
    Detector d(method);
    for (int i = 0; i < argc; i++) {
        cv::Mat bgr = cv::imread(argv[i], cv::IMREAD_COLOR);
        if (bgr.empty()) { fprintf(stderr, "cannot read %s\n", argv[i]); return 2; }
        cv::Mat gray;
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        auto t0 = std::chrono::steady_clock::now();
        auto dets = d.detect(gray);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        for (auto& r : dets) printf("%s\t%d %d %d %d %.3f\n", argv[i], r.r.x, r.r.y, r.r.width, r.r.height, r.score);
        printf("#time %s %.2f\n", argv[i], ms);
    }
    return 0;
}

// Eye centres in ORL crops: the crop scaled 3x (276x336) in the middle of a 480x520 grey canvas;
// the face found by the detector; eyes by dlib's 68-point landmarks (mean of 36-41, 42-47) or by
// OpenCV's haarcascade_eye in the face's upper half. Printed as fractions of the crop.
static int eyes(const std::string& method, const std::string& root) {
    const int S = 3, CW = 480, CH = 520;
    dlib::shape_predictor sp;
    bool landmarks = method.rfind("dlib", 0) == 0;
    if (landmarks) dlib::deserialize("/usr/share/dlib/shape_predictor_68_face_landmarks.dat") >> sp;
    cv::CascadeClassifier eye;
    if (!landmarks && !eye.load(kCascades + "haarcascades/haarcascade_eye.xml")) return 2;
    Detector d(method);
    double sl[2] = {0, 0}, sr[2] = {0, 0};
    int n = 0, images = 0, noFace = 0, noEyes = 0;
    DIR* dir = opendir(root.c_str());
    std::vector<std::string> ids;
    while (auto* e = readdir(dir)) if (e->d_name[0] == 's') ids.push_back(e->d_name);
    closedir(dir);
    for (auto& id : ids) for (int k = 1; k <= 10; k++) {
        cv::Mat crop = cv::imread(root + "/" + id + "/" + std::to_string(k) + ".pgm", cv::IMREAD_GRAYSCALE);
        if (crop.empty()) continue;
        images++;
        cv::Mat canvas(CH, CW, CV_8U, cv::Scalar(128)), big;
        cv::resize(crop, big, cv::Size(), S, S, cv::INTER_LINEAR);
        int ox = (CW - big.cols) / 2, oy = (CH - big.rows) / 2;
        big.copyTo(canvas(cv::Rect(ox, oy, big.cols, big.rows)));
        auto dets = d.detect(canvas);
        if (dets.empty()) { noFace++; continue; }
        auto best = *std::max_element(dets.begin(), dets.end(), [](auto& a, auto& b) { return a.r.area() < b.r.area(); });
        cv::Point2d l, r;
        if (landmarks) {
            dlib::cv_image<unsigned char> img(canvas);
            auto shape = sp(img, dlib::rectangle(best.r.x, best.r.y, best.r.x + best.r.width - 1, best.r.y + best.r.height - 1));
            for (int j = 36; j < 42; j++) { l.x += shape.part(j).x() / 6.0; l.y += shape.part(j).y() / 6.0; }
            for (int j = 42; j < 48; j++) { r.x += shape.part(j).x() / 6.0; r.y += shape.part(j).y() / 6.0; }
        } else {
            cv::Rect upper(best.r.x, best.r.y, best.r.width, best.r.height / 2);
            std::vector<cv::Rect> es;
            eye.detectMultiScale(canvas(upper), es, 1.1, 3, 0, cv::Size(best.r.width / 8, best.r.width / 8));
            cv::Rect le, re; bool hl = false, hr = false;
            for (auto& e : es) {  // the largest on each side of the face's centre line
                bool left = e.x + e.width / 2 < best.r.width / 2;
                if (left && (!hl || e.area() > le.area())) { le = e; hl = true; }
                if (!left && (!hr || e.area() > re.area())) { re = e; hr = true; }
            }
            if (!hl || !hr) { noEyes++; continue; }
            l = {upper.x + le.x + le.width / 2.0, upper.y + le.y + le.height / 2.0};
            r = {upper.x + re.x + re.width / 2.0, upper.y + re.y + re.height / 2.0};
        }
        // Image left (the person's right eye) first.
        sl[0] += (l.x - ox) / S / 92; sl[1] += (l.y - oy) / S / 112;
        sr[0] += (r.x - ox) / S / 92; sr[1] += (r.y - oy) / S / 112;
        n++;
    }
    printf("%s: %d images, %d with a face and eyes, %d no face, %d no eyes\n", method.c_str(), images, n, noFace, noEyes);
    printf("left eye (image left)  x %.4f y %.4f\nright eye (image right) x %.4f y %.4f\n",
           sl[0] / n, sl[1] / n, sr[0] / n, sr[1] / n);
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 3) { fprintf(stderr, "usage: detector-bench faces|eyes METHOD ...\n"); return 2; }
    std::string mode = argv[1], method = argv[2];
    if (mode == "faces") return faces(method, argc - 3, argv + 3);
    if (mode == "eyes") return eyes(method, argc > 3 ? argv[3] : "data/orl");
    return 2;
}
