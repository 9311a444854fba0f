import CKernels

/// Which build of FaceTwin's own kernels runs (Sources/CKernels/cpu.c). The package is compiled
/// for baseline x86-64; the C kernels carry an AVX2/FMA build chosen at run time where the CPU
/// has both, and `FACETWIN_CPU=baseline` in the environment forces the portable one.
enum InstructionSet: String, CaseIterable {
    case avx2FMA = "avx2+fma"
    case baseline

    /// What the kernels run with now.
    static var current: InstructionSet { facetwin_cpu_avx2_fma() != 0 ? .avx2FMA : .baseline }

    /// What this CPU offers, whatever is forced.
    static var available: [InstructionSet] { facetwin_cpu_has_avx2_fma() != 0 ? [.avx2FMA, .baseline] : [.baseline] }

    /// Runs `body` with the kernels forced to `set` (which this CPU must offer), then goes back to
    /// what the environment says. For tests that compare both builds in one process: nothing else
    /// may compute meanwhile.
    static func forcing<T>(_ set: InstructionSet, _ body: () throws -> T) rethrows -> T {
        precondition(available.contains(set), "this CPU has no \(set.rawValue)")
        facetwin_cpu_force_baseline(set == .baseline ? 1 : 0)
        defer { facetwin_cpu_force_baseline(-1) }
        return try body()
    }
}
