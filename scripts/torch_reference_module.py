"""The PyTorch reference (../shared/bench/torch_reference.py, or $TORCH_REFERENCE) as a module,
for the bench scripts beside this file: `from torch_reference_module import ref`."""
import importlib.util, os

here = os.path.dirname(os.path.abspath(__file__))
ref_path = os.environ.get("TORCH_REFERENCE", os.path.join(here, "..", "..", "shared", "bench", "torch_reference.py"))
spec = importlib.util.spec_from_file_location("torch_reference", ref_path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
