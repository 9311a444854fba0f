// dlib's face-recognition ResNet and 5-point chip alignment behind a C interface (see
// include/facetwin_dlibnet.h). The whole dlib DNN template instantiation lives in this one
// translation unit: it takes minutes to compile.
//
// Hostile files: the file is read into memory first (bounded), dlib deserialises from there, and
// every layer's parameter tensors are checked against the architecture before dlib's forward or
// any alias of a tensor is used, so dlib's own checked asserts (fatal_error) are never reached.
#include "facetwin_dlibnet.h"

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace dlib;

// The network of dlib's examples/dnn_face_recognition_ex.cpp, copied as it is there.
namespace facetwin_anet {
template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;

template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;

template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;

template <int N, typename SUBNET> using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block, N, affine, SUBNET>>;

template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;

using anet_type = loss_metric<fc_no_bias<
    128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
             max_pool<3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2, input_rgb_image_sized<150>>>>>>>>>>>>>;
} // namespace facetwin_anet

namespace {

void put(char *message, size_t size, const std::string &text) {
    if (message && size > 0) {
        // One printable line: control characters become spaces, other bytes outside ASCII (a
        // hostile file's version string) become '?'.
        std::string line = text;
        for (char &c : line) {
            unsigned char u = (unsigned char)c;
            if (u < 0x20) c = ' ';
            else if (u >= 0x7f) c = '?';
        }
        // Collapse runs of spaces dlib's multi-line messages leave.
        std::string out;
        for (char c : line) {
            if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
            out.push_back(c);
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        size_t n = std::min(size - 1, out.size());
        memcpy(message, out.data(), n);
        message[n] = 0;
    }
}

struct Failure {
    int32_t status;
    std::string message;
};

// Reads a whole regular file of at most FACETWIN_DLIBNET_MAX_FILE_BYTES.
std::string readFile(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) throw Failure{FACETWIN_DLIBNET_UNREADABLE, std::string("cannot open: ") + strerror(errno)};
    if (S_ISDIR(st.st_mode)) throw Failure{FACETWIN_DLIBNET_UNREADABLE, "is a directory"};
    if (!S_ISREG(st.st_mode)) throw Failure{FACETWIN_DLIBNET_UNREADABLE, "not a regular file"};
    if (st.st_size == 0) throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "empty file (0 bytes)"};
    if ((unsigned long long)st.st_size > FACETWIN_DLIBNET_MAX_FILE_BYTES)
        throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "file of " + std::to_string((long long)st.st_size) +
                                                      " bytes, larger than any dlib face model (64 MiB)"};
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Failure{FACETWIN_DLIBNET_UNREADABLE, std::string("cannot open: ") + strerror(errno)};
    std::string bytes((size_t)st.st_size, '\0');
    in.read(&bytes[0], (std::streamsize)bytes.size());
    if ((size_t)in.gcount() != bytes.size()) throw Failure{FACETWIN_DLIBNET_UNREADABLE, "read error"};
    return bytes;
}

// A read-only istream over memory (no copy).
struct MemoryBuffer : std::streambuf {
    MemoryBuffer(const char *data, size_t size) {
        char *p = const_cast<char *>(data);
        setg(p, p, p + size);
    }
    // Relative moves of the read position (the walk skips tensor values with it).
    pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
        if (dir != std::ios_base::cur || !(which & std::ios_base::in)) return pos_type(off_type(-1));
        if (off < 0 ? -off > gptr() - eback() : off > egptr() - gptr()) return pos_type(off_type(-1));
        setg(eback(), gptr() + off, egptr());
        return pos_type(gptr() - eback());
    }
};

// ---------------------------------------------------------------------------------------------
// A walk over the serialised bytes before dlib deserialises them. dlib's own readers trust the
// sizes they read: a tensor with a negative dimension makes dlib's tensor reader write through
// a null pointer, and a vector's or string's size is allocated before it is read. The walk
// follows dlib's serialisation of exactly the types dlib will read (the same templates),
// reads every scalar with dlib's own readers, and checks every size against the bytes left,
// so the deserialisation that follows it only ever sees sizes the file can hold.
namespace walk {

struct Reader {
    std::istream &in;
    size_t left() const {
        std::streamsize n = in.rdbuf()->in_avail();
        return n > 0 ? (size_t)n : 0;
    }
    [[noreturn]] void fail(const std::string &what) const { throw Failure{FACETWIN_DLIBNET_NOT_MODEL, what}; }
    template <typename T> T scalar() {
        T v;
        deserialize(v, in);
        return v;
    }
    std::string text() {
        unsigned long n = scalar<unsigned long>();
        if (n > 256 || n > left()) fail("a version string of " + std::to_string(n) + " bytes");
        std::string s(n, '\0');
        if (n && in.rdbuf()->sgetn(&s[0], (std::streamsize)n) != (std::streamsize)n) fail("truncated");
        return s;
    }
    void expect(const std::string &what, std::initializer_list<const char *> versions) {
        std::string v = text();
        for (const char *ok : versions)
            if (v == ok) return;
        fail("found '" + v + "' where " + what + " was expected");
    }
    std::string version(const std::string &what, std::initializer_list<const char *> versions) {
        std::string v = text();
        for (const char *ok : versions)
            if (v == ok) return v;
        fail("found '" + v + "' where " + what + " was expected");
    }
    int intVersion(const char *what, int low, int high) {
        int v = scalar<int>();
        if (v < low || v > high) fail(std::string("unexpected version of ") + what);
        return v;
    }
    // 4 dimensions, each from 0 to 2^31, whose product of 4-byte values fits in what is left.
    void tensor() {
        if (scalar<int>() != 2) fail("unexpected version of a tensor");
        unsigned long long size = 1;
        for (int i = 0; i < 4; i++) {
            long long d = scalar<long long>();
            if (d < 0 || d > (1ll << 31)) fail("a tensor of size " + std::to_string(d));
            if (__builtin_mul_overflow(size, (unsigned long long)d, &size)) fail("a tensor too large for the file");
        }
        if (size > left() / 4) fail("a tensor larger than the file");
        if (size && in.rdbuf()->pubseekoff((std::streamoff)(size * 4), std::ios_base::cur, std::ios_base::in) < 0)
            fail("truncated");
    }
    void alias() {
        alias_tensor a;
        deserialize(a, in);
    }
    void doubles(int n) {
        for (int i = 0; i < n; i++) scalar<double>();
    }
    // A vector's element count: each element takes at least one byte.
    unsigned long count() {
        unsigned long n = scalar<unsigned long>();
        if (n > left()) fail("a vector of " + std::to_string(n) + " elements, more than the file holds");
        return n;
    }
    void matrix(long rows, long cols) {
        long nr = scalar<long>(), nc = scalar<long>();
        if (nr < 0 || nc < 0) {
            if (nr > 0 || nc > 0) fail("a matrix of mixed-sign size");
            nr = -nr;
            nc = -nc;
        }
        if ((rows && nr != rows) || (cols && nc != cols) || nr > (1l << 24) || nc > (1l << 24) ||
            (unsigned long)(nr * nc) > left())
            fail("a matrix of size " + std::to_string(nr) + "x" + std::to_string(nc));
        for (long i = 0; i < nr * nc; i++) scalar<float>();
    }
};

// Layer details.
template <long N, long NR, long NC, int SY, int SX, int PY, int PX> void details(Reader &r, con_<N, NR, NC, SY, SX, PY, PX> *) {
    std::string v = r.version("con_", {"con_4", "con_5"});
    r.tensor();
    r.scalar<long>();
    r.scalar<long>();
    r.scalar<long>();
    r.scalar<int>();
    r.scalar<int>();
    r.scalar<int>();
    r.scalar<int>();
    r.alias();
    r.alias();
    r.doubles(4);
    if (v == "con_5") r.scalar<bool>();
}
inline void details(Reader &r, affine_ *) {
    // dlib would also convert a batch-norm layer (bn_con2) here; the released model has none.
    std::string v = r.version("affine_", {"affine_", "affine_2"});
    r.tensor();
    r.alias();
    r.alias();
    r.scalar<int>();
    if (v == "affine_2") r.scalar<bool>();
}
inline void details(Reader &r, relu_ *) { r.expect("relu_", {"relu_"}); }
template <long NR, long NC, int SY, int SX, int PY, int PX> void details(Reader &r, max_pool_<NR, NC, SY, SX, PY, PX> *) {
    r.expect("max_pool_", {"max_pool_2"});
    r.scalar<long>();
    r.scalar<long>();
    for (int i = 0; i < 4; i++) r.scalar<int>();
}
template <long NR, long NC, int SY, int SX, int PY, int PX> void details(Reader &r, avg_pool_<NR, NC, SY, SX, PY, PX> *) {
    r.expect("avg_pool_", {"avg_pool_2"});
    r.scalar<long>();
    r.scalar<long>();
    for (int i = 0; i < 4; i++) r.scalar<int>();
}
template <template <typename> class TAG> void details(Reader &r, add_prev_<TAG> *) { r.expect("add_prev_", {"add_prev_"}); }
template <unsigned long N, fc_bias_mode M> void details(Reader &r, fc_<N, M> *) {
    std::string v = r.version("fc_", {"fc_2", "fc_3"});
    r.scalar<unsigned long>();
    r.scalar<unsigned long>();
    r.tensor();
    r.alias();
    r.alias();
    r.scalar<int>();
    r.doubles(4);
    if (v == "fc_3") r.scalar<bool>();
}
template <size_t NR, size_t NC> void input(Reader &r, input_rgb_image_sized<NR, NC> *) {
    r.expect("input_rgb_image_sized", {"input_rgb_image_sized"});
    for (int i = 0; i < 3; i++) r.scalar<float>();
    r.scalar<size_t>();
    r.scalar<size_t>();
}

// The network's structure, as dlib's add_* layers serialise it.
template <typename T> void net(Reader &r, T *);

template <typename D, typename S, typename E> void layer(Reader &r, add_layer<D, S, E> *) {
    int v = r.intVersion("add_layer", 1, 2);
    net(r, (S *)nullptr);
    details(r, (D *)nullptr);
    for (int i = 0; i < 3; i++) r.scalar<bool>();
    r.tensor();
    r.tensor();
    if (v == 2) r.tensor();
}
template <typename D, size_t NR, size_t NC, typename E> void layer(Reader &r, add_layer<D, input_rgb_image_sized<NR, NC>, E> *) {
    int v = r.intVersion("add_layer", 2, 3);
    input(r, (input_rgb_image_sized<NR, NC> *)nullptr);
    details(r, (D *)nullptr);
    for (int i = 0; i < 3; i++) r.scalar<bool>();
    r.tensor();
    r.tensor();
    r.tensor();
    if (v >= 3) r.scalar<unsigned int>();
}
template <unsigned long ID, typename S, typename E> void layer(Reader &r, add_tag_layer<ID, S, E> *) {
    r.intVersion("add_tag_layer", 1, 1);
    net(r, (S *)nullptr);
}
template <template <typename> class TAG, typename S> void layer(Reader &r, add_skip_layer<TAG, S> *) {
    r.intVersion("add_skip_layer", 1, 1);
    net(r, (S *)nullptr);
}
template <typename T> void net(Reader &r, T *) { layer(r, (T *)nullptr); }

template <typename L, typename S> void network(Reader &r, add_loss_layer<L, S> *) {
    r.intVersion("add_loss_layer", 1, 1);
    std::string v = r.version("loss_metric_", {"loss_metric_", "loss_metric_2"});
    if (v == "loss_metric_2") {
        r.scalar<float>();
        r.scalar<float>();
    }
    net(r, (S *)nullptr);
}

// dlib's shape_predictor, as it serialises it.
inline void shapePredictor(Reader &r) {
    if (r.scalar<int>() != 1) r.fail("not a dlib shape predictor (unexpected version)");
    r.matrix(0, 1);
    unsigned long cascades = r.count();
    for (unsigned long c = 0; c < cascades; c++) {
        unsigned long trees = r.count();
        for (unsigned long t = 0; t < trees; t++) {
            unsigned long splits = r.count();
            for (unsigned long i = 0; i < splits; i++) {
                r.scalar<unsigned long>();
                r.scalar<unsigned long>();
                r.scalar<float>();
            }
            unsigned long leaves = r.count();
            for (unsigned long i = 0; i < leaves; i++) r.matrix(0, 1);
        }
    }
    unsigned long anchors = r.count();
    for (unsigned long c = 0; c < anchors; c++) {
        unsigned long n = r.count();
        for (unsigned long i = 0; i < n; i++) r.scalar<unsigned long>();
    }
    unsigned long deltas = r.count();
    for (unsigned long c = 0; c < deltas; c++) {
        unsigned long n = r.count();
        for (unsigned long i = 0; i < n; i++) {
            r.scalar<float>();
            r.scalar<float>();
        }
    }
}

} // namespace walk

// One computational layer as dlib deserialised it, in forward order.
struct Layer {
    enum Kind { Con, Affine, Relu, MaxPool, AvgPool, AddPrev, Fc, Other } kind = Other;
    std::string what; // for messages
    long filters = 0, nr = 0, nc = 0, strideY = 0, strideX = 0, padY = 0, padX = 0;
    long inputs = 0; // con: input channels; fc: inputs
    std::vector<float> weight, bias; // con: OIHW + bias; affine: gamma, beta; fc: [out][in]
};

std::vector<float> copyOf(const tensor &t) { return std::vector<float>(t.host(), t.host() + t.size()); }

bool aliasIs(const alias_tensor &a, long long n, long long k, long long nr, long long nc) {
    return a.num_samples() == n && a.k() == k && a.nr() == nr && a.nc() == nc;
}

struct Collector {
    std::vector<Layer> *layers;

    template <long N, long NR, long NC, int SY, int SX, int PY, int PX>
    void operator()(const con_<N, NR, NC, SY, SX, PY, PX> &l) const {
        // The filter and bias aliases are private: read them back from dlib's own serialisation.
        std::ostringstream out;
        serialize(l, out);
        std::istringstream in(out.str());
        std::string version;
        resizable_tensor params;
        long numFilters, nr, nc;
        int sy, sx, py, px;
        alias_tensor filters, biases;
        deserialize(version, in);
        deserialize(params, in);
        deserialize(numFilters, in);
        deserialize(nr, in);
        deserialize(nc, in);
        deserialize(sy, in);
        deserialize(sx, in);
        deserialize(py, in);
        deserialize(px, in);
        deserialize(filters, in);
        deserialize(biases, in);
        Layer r;
        r.kind = Layer::Con;
        r.filters = numFilters;
        r.nr = nr;
        r.nc = nc;
        r.strideY = sy;
        r.strideX = sx;
        r.padY = py;
        r.padX = px;
        r.what = "con " + std::to_string(numFilters) + " " + std::to_string(nr) + "x" + std::to_string(nc) + " stride " +
                 std::to_string(sy);
        long long k = filters.k();
        if (l.bias_is_disabled() || numFilters <= 0 || nr <= 0 || nc <= 0 || k <= 0 || k > 4096 ||
            !aliasIs(filters, numFilters, k, nr, nc) || !aliasIs(biases, 1, numFilters, 1, 1) ||
            params.size() != filters.size() + biases.size()) {
            r.what += " with inconsistent parameter tensors";
            r.kind = Layer::Other;
        } else {
            r.inputs = (long)k;
            r.weight.assign(params.host(), params.host() + filters.size());
            r.bias.assign(params.host() + filters.size(), params.host() + params.size());
        }
        layers->push_back(std::move(r));
    }

    void operator()(const affine_ &l) const {
        std::ostringstream out;
        serialize(l, out);
        std::istringstream in(out.str());
        std::string version;
        resizable_tensor params;
        alias_tensor gamma, beta;
        int mode;
        bool disabled;
        deserialize(version, in);
        deserialize(params, in);
        deserialize(gamma, in);
        deserialize(beta, in);
        deserialize(mode, in);
        deserialize(disabled, in);
        Layer r;
        r.kind = Layer::Affine;
        long long k = gamma.k();
        r.filters = (long)k;
        r.what = "affine " + std::to_string(k);
        if (disabled || mode != CONV_MODE || k <= 0 || !aliasIs(gamma, 1, k, 1, 1) || !aliasIs(beta, 1, k, 1, 1) ||
            params.size() != (size_t)(2 * k)) {
            r.what += " (not a per-channel affine with consistent parameters)";
            r.kind = Layer::Other;
        } else {
            r.weight.assign(params.host(), params.host() + k);
            r.bias.assign(params.host() + k, params.host() + 2 * k);
        }
        layers->push_back(std::move(r));
    }

    void operator()(const relu_ &) const {
        Layer r;
        r.kind = Layer::Relu;
        r.what = "relu";
        layers->push_back(std::move(r));
    }

    template <long NR, long NC, int SY, int SX, int PY, int PX>
    void operator()(const max_pool_<NR, NC, SY, SX, PY, PX> &l) const { pool(Layer::MaxPool, "max_pool", l); }

    template <long NR, long NC, int SY, int SX, int PY, int PX>
    void operator()(const avg_pool_<NR, NC, SY, SX, PY, PX> &l) const { pool(Layer::AvgPool, "avg_pool", l); }

    template <typename P> void pool(Layer::Kind kind, const char *name, const P &l) const {
        Layer r;
        r.kind = kind;
        r.nr = l.nr();
        r.nc = l.nc();
        r.strideY = l.stride_y();
        r.strideX = l.stride_x();
        r.padY = l.padding_y();
        r.padX = l.padding_x();
        r.what = std::string(name) + " " + std::to_string(r.nr) + "x" + std::to_string(r.nc) + " stride " +
                 std::to_string(r.strideY);
        layers->push_back(std::move(r));
    }

    template <template <typename> class TAG> void operator()(const add_prev_<TAG> &) const {
        Layer r;
        r.kind = Layer::AddPrev;
        r.what = "add_prev";
        layers->push_back(std::move(r));
    }

    template <unsigned long N, fc_bias_mode M> void operator()(const fc_<N, M> &l) const {
        std::ostringstream out;
        serialize(l, out);
        std::istringstream in(out.str());
        std::string version;
        unsigned long numOutputs, numInputs;
        resizable_tensor params;
        alias_tensor weights, biases;
        int biasMode;
        deserialize(version, in);
        deserialize(numOutputs, in);
        deserialize(numInputs, in);
        deserialize(params, in);
        deserialize(weights, in);
        deserialize(biases, in);
        deserialize(biasMode, in);
        Layer r;
        r.kind = Layer::Fc;
        r.filters = (long)numOutputs;
        r.inputs = (long)numInputs;
        r.what = "fc " + std::to_string(numOutputs);
        if (biasMode != FC_NO_BIAS || numOutputs == 0 || numInputs == 0 || numInputs > 65536 || numOutputs > 65536 ||
            !aliasIs(weights, (long long)numInputs, (long long)numOutputs, 1, 1) || params.size() != weights.size()) {
            r.what += " (with a bias or inconsistent parameters)";
            r.kind = Layer::Other;
        } else {
            // dlib stores inputs x outputs; the model file stores outputs x inputs.
            r.weight.resize(params.size());
            const float *p = params.host();
            for (unsigned long i = 0; i < numInputs; i++)
                for (unsigned long o = 0; o < numOutputs; o++) r.weight[o * numInputs + i] = p[i * numOutputs + o];
        }
        layers->push_back(std::move(r));
    }

    template <typename T> void operator()(const T &) const {
        Layer r;
        r.kind = Layer::Other;
        r.what = "an unexpected layer";
        layers->push_back(std::move(r));
    }
};

struct Tensor {
    std::string name;
    int32_t rank;
    int64_t shape[4];
    std::vector<float> data;
};

struct BlockSpec {
    long out, stride;
};
// Forward order: 3x32, 64 down + 3x64, 128 down + 2x128, 256 down + 2x256, 256 down.
const BlockSpec kBlocks[14] = {{32, 1},  {32, 1},  {32, 1},  {64, 2},  {64, 1},  {64, 1},  {64, 1},
                               {128, 2}, {128, 1}, {128, 1}, {256, 2}, {256, 1}, {256, 1}, {256, 2}};

// The shortest decimal that reads back as the same float.
std::string number(float v) {
    char buf[64];
    for (int precision = 1; precision <= 9; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, (double)v);
        if (strtof(buf, nullptr) == v) break;
    }
    return buf;
}

} // namespace

struct facetwin_dlibnet {
    facetwin_anet::anet_type net;
    std::vector<Tensor> tensors;
    std::string architecture;
    std::mutex lock;
};

namespace {

// Walks the layers in forward order against the architecture, filling net.tensors and
// net.architecture from what was read. Throws Failure naming the first layer that differs.
void checkAndExport(facetwin_dlibnet &d) {
    std::vector<Layer> layers;
    visit_computational_layers(d.net, Collector{&layers});
    std::reverse(layers.begin(), layers.end()); // dlib visits from the output down
    size_t pos = 0;
    auto fail = [&](const std::string &expected) -> void {
        std::string found = pos < layers.size() ? layers[pos].what : "the end of the network";
        throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "layer " + std::to_string(pos) + " is " + found + ", expected " +
                                                      expected + " (not dlib's face recognition ResNet v1)"};
    };
    auto expectCon = [&](const std::string &prefix, long out, long in, long k, long stride) {
        long pad = stride == 1 ? k / 2 : 0;
        std::string expected = "con " + std::to_string(out) + " " + std::to_string(k) + "x" + std::to_string(k) +
                               " stride " + std::to_string(stride) + " padding " + std::to_string(pad) + " from " +
                               std::to_string(in) + " channels";
        if (pos >= layers.size()) fail(expected);
        const Layer &l = layers[pos];
        if (l.kind != Layer::Con || l.filters != out || l.inputs != in || l.nr != k || l.nc != k ||
            l.strideY != stride || l.strideX != stride || l.padY != pad || l.padX != pad)
            fail(expected);
        d.tensors.push_back({prefix + ".weight", 4, {out, in, k, k}, l.weight});
        d.tensors.push_back({prefix + ".bias", 1, {out, 0, 0, 0}, l.bias});
        pos++;
    };
    auto expectAffine = [&](const std::string &prefix, long channels) {
        std::string expected = "affine " + std::to_string(channels);
        if (pos >= layers.size() || layers[pos].kind != Layer::Affine || layers[pos].filters != channels) fail(expected);
        d.tensors.push_back({prefix + ".weight", 1, {channels, 0, 0, 0}, layers[pos].weight});
        d.tensors.push_back({prefix + ".bias", 1, {channels, 0, 0, 0}, layers[pos].bias});
        pos++;
    };
    auto expectSimple = [&](Layer::Kind kind, const std::string &expected) {
        if (pos >= layers.size() || layers[pos].kind != kind) fail(expected);
        pos++;
    };
    auto expectPool = [&](Layer::Kind kind, const std::string &expected, long k, long stride, long pad) {
        if (pos >= layers.size()) fail(expected);
        const Layer &l = layers[pos];
        if (l.kind != kind || l.nr != k || l.nc != k || l.strideY != stride || l.strideX != stride || l.padY != pad ||
            l.padX != pad)
            fail(expected);
        pos++;
    };

    expectCon("conv1", 32, 3, 7, 2);
    expectAffine("affine1", 32);
    expectSimple(Layer::Relu, "relu");
    expectPool(Layer::MaxPool, "max_pool 3x3 stride 2 padding 0", 3, 2, 0);
    long channels = 32;
    std::string blocks;
    for (int i = 0; i < 14; i++) {
        const BlockSpec &b = kBlocks[i];
        std::string prefix = "blocks." + std::to_string(i);
        expectCon(prefix + ".conv1", b.out, channels, 3, b.stride);
        expectAffine(prefix + ".affine1", b.out);
        expectSimple(Layer::Relu, "relu");
        expectCon(prefix + ".conv2", b.out, b.out, 3, 1);
        expectAffine(prefix + ".affine2", b.out);
        if (b.stride == 2) expectPool(Layer::AvgPool, "avg_pool 2x2 stride 2 padding 0 (shortcut)", 2, 2, 0);
        expectSimple(Layer::AddPrev, "add_prev (residual)");
        expectSimple(Layer::Relu, "relu");
        channels = b.out;
        blocks += std::string(i ? "," : "") + "{\"out\":" + std::to_string(b.out) +
                  ",\"stride\":" + std::to_string(b.stride) + "}";
    }
    expectPool(Layer::AvgPool, "avg_pool_everything", 0, 1, 0);
    {
        std::string expected = "fc_no_bias 128 from 256 inputs";
        if (pos >= layers.size() || layers[pos].kind != Layer::Fc || layers[pos].filters != 128 ||
            layers[pos].inputs != 256)
            fail(expected);
        d.tensors.push_back({"fc.weight", 2, {128, 256, 0, 0}, layers[pos].weight});
        pos++;
    }
    if (pos != layers.size()) fail("the end of the network");
    for (const Tensor &t : d.tensors)
        for (float v : t.data)
            if (!std::isfinite(v))
                throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "tensor " + t.name + " holds a non-finite value"};

    const auto &input = input_layer(d.net);
    const auto &loss = d.net.loss_details();
    (void)loss;
    d.architecture = "{\"name\":\"dlib_resnet_v1\",\"input\":{\"size\":150,\"channels\":3,\"mean_rgb\":[" +
                     number(input.get_avg_red()) + "," + number(input.get_avg_green()) + "," +
                     number(input.get_avg_blue()) +
                     "],\"scale\":0.00390625},\"stem\":{\"kernel\":7,\"stride\":2,\"padding\":0,\"out\":32,"
                     "\"pool\":{\"kernel\":3,\"stride\":2,\"padding\":0}},\"blocks\":[" +
                     blocks + "],\"embedding\":128,\"chip\":{\"size\":150,\"padding\":0.25,\"landmarks\":5}}";
}

template <typename F> int32_t guarded(char *message, size_t message_size, F body) {
    try {
        return body();
    } catch (const Failure &f) {
        put(message, message_size, f.message);
        return f.status;
    } catch (const std::bad_alloc &) {
        put(message, message_size, "out of memory (a size in the file is too large)");
        return FACETWIN_DLIBNET_NO_MEMORY;
    } catch (const serialization_error &e) {
        put(message, message_size, std::string("dlib: ") + e.what());
        return FACETWIN_DLIBNET_NOT_MODEL;
    } catch (const std::exception &e) {
        put(message, message_size, e.what());
        return FACETWIN_DLIBNET_FAILED;
    } catch (...) {
        put(message, message_size, "unknown C++ exception");
        return FACETWIN_DLIBNET_FAILED;
    }
}

} // namespace

extern "C" facetwin_dlibnet *facetwin_dlibnet_load(const char *path, int32_t *status, char *message,
                                                   size_t message_size) {
    int32_t ignored;
    if (!status) status = &ignored;
    if (!path) {
        *status = FACETWIN_DLIBNET_BAD_ARGUMENT;
        put(message, message_size, "bad argument");
        return nullptr;
    }
    facetwin_dlibnet *result = nullptr;
    *status = guarded(message, message_size, [&]() -> int32_t {
        std::string bytes = readFile(path);
        {
            MemoryBuffer buffer(bytes.data(), bytes.size());
            std::istream in(&buffer);
            walk::Reader reader{in};
            walk::network(reader, (facetwin_anet::anet_type *)nullptr);
        }
        std::unique_ptr<facetwin_dlibnet> d(new facetwin_dlibnet());
        MemoryBuffer buffer(bytes.data(), bytes.size());
        std::istream in(&buffer);
        deserialize(d->net, in);
        checkAndExport(*d);
        result = d.release();
        return FACETWIN_DLIBNET_OK;
    });
    return result;
}

extern "C" void facetwin_dlibnet_destroy(facetwin_dlibnet *net) { delete net; }

extern "C" int32_t facetwin_dlibnet_tensor_count(const facetwin_dlibnet *net) {
    return net ? (int32_t)net->tensors.size() : 0;
}

extern "C" int32_t facetwin_dlibnet_tensor(const facetwin_dlibnet *net, int32_t index, const char **name,
                                           int32_t *rank, int64_t shape[4], const float **data) {
    if (!net || index < 0 || (size_t)index >= net->tensors.size() || !name || !rank || !shape || !data)
        return FACETWIN_DLIBNET_BAD_ARGUMENT;
    const Tensor &t = net->tensors[(size_t)index];
    *name = t.name.c_str();
    *rank = t.rank;
    for (int i = 0; i < 4; i++) shape[i] = t.shape[i];
    *data = t.data.data();
    return FACETWIN_DLIBNET_OK;
}

extern "C" const char *facetwin_dlibnet_architecture(const facetwin_dlibnet *net) {
    return net ? net->architecture.c_str() : "";
}

extern "C" int32_t facetwin_dlibnet_forward(facetwin_dlibnet *net, const uint8_t *rgb, int32_t n, float *out,
                                            char *message, size_t message_size) {
    if (!net || !rgb || n <= 0 || !out) {
        put(message, message_size, "bad argument");
        return FACETWIN_DLIBNET_BAD_ARGUMENT;
    }
    return guarded(message, message_size, [&]() -> int32_t {
        const long size = FACETWIN_DLIBNET_CHIP_SIZE;
        std::vector<matrix<rgb_pixel>> chips((size_t)n);
        for (int32_t i = 0; i < n; i++) {
            matrix<rgb_pixel> &chip = chips[(size_t)i];
            chip.set_size(size, size);
            const uint8_t *p = rgb + (size_t)i * size * size * 3;
            for (long r = 0; r < size; r++)
                for (long c = 0; c < size; c++, p += 3) chip(r, c) = rgb_pixel(p[0], p[1], p[2]);
        }
        std::lock_guard<std::mutex> guard(net->lock);
        std::vector<matrix<float, 0, 1>> descriptors = net->net(chips, (size_t)n);
        if (descriptors.size() != (size_t)n) throw Failure{FACETWIN_DLIBNET_FAILED, "dlib returned a wrong batch"};
        for (int32_t i = 0; i < n; i++) {
            const matrix<float, 0, 1> &v = descriptors[(size_t)i];
            if (v.size() != FACETWIN_DLIBNET_EMBEDDING)
                throw Failure{FACETWIN_DLIBNET_FAILED, "dlib returned a descriptor of the wrong size"};
            for (long j = 0; j < FACETWIN_DLIBNET_EMBEDDING; j++) out[(size_t)i * FACETWIN_DLIBNET_EMBEDDING + j] = v(j);
        }
        return FACETWIN_DLIBNET_OK;
    });
}

// ---------------------------------------------------------------------------------------------
// 5-point chip alignment

struct facetwin_chipper {
    shape_predictor predictor;
    std::mutex lock;
};

namespace {

// Reads the predictor's parts in dlib's serialisation order and checks every index a prediction
// uses, so a hostile predictor can never index outside its own arrays.
void checkShapePredictor(const char *data, size_t size) {
    {
        MemoryBuffer buffer(data, size);
        std::istream in(&buffer);
        walk::Reader reader{in};
        walk::shapePredictor(reader);
    }
    MemoryBuffer buffer(data, size);
    std::istream in(&buffer);
    int version = 0;
    matrix<float, 0, 1> initial;
    std::vector<std::vector<impl::regression_tree>> forests;
    std::vector<std::vector<unsigned long>> anchors;
    std::vector<std::vector<dlib::vector<float, 2>>> deltas;
    deserialize(version, in);
    if (version != 1) throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "not a dlib shape predictor (unexpected version)"};
    deserialize(initial, in);
    deserialize(forests, in);
    deserialize(anchors, in);
    deserialize(deltas, in);
    // Shapes live in a unit box around the face: bounded values keep every sum of a cascade's
    // leaves finite, so no landmark can become inf or NaN.
    auto bad = [](float v, float limit) { return !std::isfinite(v) || std::fabs(v) > limit; };
    const float limit = 1000;
    for (long i = 0; i < initial.size(); i++)
        if (bad(initial(i), limit)) throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with an implausible value"};
    if (initial.size() != 10)
        throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "expected a 5-point landmark model, this one has " +
                                                      std::to_string(initial.size() / 2) + " points"};
    if (forests.empty() || forests.size() != anchors.size() || forests.size() != deltas.size())
        throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with inconsistent cascades"};
    for (size_t c = 0; c < forests.size(); c++) {
        size_t features = anchors[c].size();
        if (features == 0 || deltas[c].size() != features)
            throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with inconsistent feature pixels"};
        for (unsigned long a : anchors[c])
            if (a >= 5) throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor anchor out of range"};
        for (const auto &d : deltas[c])
            if (bad(d.x(), limit) || bad(d.y(), limit))
                throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with an implausible value"};
        for (const auto &tree : forests[c]) {
            size_t leaves = tree.leaf_values.size();
            if (leaves == 0 || (leaves & (leaves - 1)) != 0 || tree.splits.size() + 1 != leaves)
                throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with a malformed regression tree"};
            for (const auto &s : tree.splits) {
                if (s.idx1 >= features || s.idx2 >= features)
                    throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor split index out of range"};
                if (std::isnan(s.thresh))
                    throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with an implausible value"};
            }
            for (const auto &leaf : tree.leaf_values) {
                if (leaf.size() != 10)
                    throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor leaf of the wrong size"};
                for (long i = 0; i < leaf.size(); i++)
                    if (bad(leaf(i), limit))
                        throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "shape predictor with an implausible value"};
            }
        }
    }
}

} // namespace

extern "C" facetwin_chipper *facetwin_chipper_create(const uint8_t *model, size_t model_size, int32_t *status,
                                                     char *message, size_t message_size) {
    int32_t ignored;
    if (!status) status = &ignored;
    if (!model || model_size == 0) {
        *status = model ? FACETWIN_DLIBNET_NOT_MODEL : FACETWIN_DLIBNET_BAD_ARGUMENT;
        put(message, message_size, model ? "empty landmark model (0 bytes)" : "bad argument");
        return nullptr;
    }
    if (model_size > FACETWIN_DLIBNET_MAX_FILE_BYTES) {
        *status = FACETWIN_DLIBNET_NOT_MODEL;
        put(message, message_size, "landmark model larger than 64 MiB");
        return nullptr;
    }
    facetwin_chipper *result = nullptr;
    *status = guarded(message, message_size, [&]() -> int32_t {
        checkShapePredictor((const char *)model, model_size);
        std::unique_ptr<facetwin_chipper> c(new facetwin_chipper());
        MemoryBuffer buffer((const char *)model, model_size);
        std::istream in(&buffer);
        deserialize(c->predictor, in);
        if (c->predictor.num_parts() != 5)
            throw Failure{FACETWIN_DLIBNET_NOT_MODEL, "expected a 5-point landmark model"};
        result = c.release();
        return FACETWIN_DLIBNET_OK;
    });
    return result;
}

extern "C" void facetwin_chipper_destroy(facetwin_chipper *chipper) { delete chipper; }

extern "C" int32_t facetwin_chipper_chip(facetwin_chipper *chipper, const uint8_t *rgb, int32_t width, int32_t height,
                                         int32_t stride, int64_t left, int64_t top, int64_t right, int64_t bottom,
                                         int32_t chip_size, double padding, uint8_t *chip, float landmarks[10],
                                         char *message, size_t message_size) {
    if (!chipper || !rgb || width <= 0 || height <= 0 || stride < 3 * (int64_t)width || right < left ||
        bottom < top || chip_size <= 0 || chip_size > 4096 || !(padding >= 0 && padding <= 10) || !chip ||
        !landmarks || std::llabs(left) > (1 << 24) || std::llabs(right) > (1 << 24) || std::llabs(top) > (1 << 24) ||
        std::llabs(bottom) > (1 << 24)) {
        put(message, message_size, "bad argument");
        return FACETWIN_DLIBNET_BAD_ARGUMENT;
    }
    return guarded(message, message_size, [&]() -> int32_t {
        matrix<rgb_pixel> img(height, width);
        for (int32_t y = 0; y < height; y++) {
            const uint8_t *p = rgb + (size_t)y * (size_t)stride;
            for (int32_t x = 0; x < width; x++, p += 3) img(y, x) = rgb_pixel(p[0], p[1], p[2]);
        }
        full_object_detection shape;
        {
            std::lock_guard<std::mutex> guard(chipper->lock);
            shape = chipper->predictor(img, rectangle((long)left, (long)top, (long)right, (long)bottom));
        }
        if (shape.num_parts() != 5) throw Failure{FACETWIN_DLIBNET_FAILED, "shape predictor gave no 5 points"};
        for (unsigned long i = 0; i < 5; i++) {
            landmarks[2 * i] = (float)shape.part(i).x();
            landmarks[2 * i + 1] = (float)shape.part(i).y();
        }
        matrix<rgb_pixel> out;
        extract_image_chip(img, get_face_chip_details(shape, (unsigned long)chip_size, padding), out);
        if (out.nr() != chip_size || out.nc() != chip_size)
            throw Failure{FACETWIN_DLIBNET_FAILED, "dlib returned a chip of the wrong size"};
        uint8_t *q = chip;
        for (long r = 0; r < chip_size; r++)
            for (long c = 0; c < chip_size; c++, q += 3) {
                q[0] = out(r, c).red;
                q[1] = out(r, c).green;
                q[2] = out(r, c).blue;
            }
        return FACETWIN_DLIBNET_OK;
    });
}
