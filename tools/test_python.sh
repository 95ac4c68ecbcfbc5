#!/usr/bin/env bash
# The Python package's tests (tools/test.sh runs this last). Builds one wheel with `pip wheel .`
# in the CPU-only configuration (the CUDA engines' code is the C++ suites'; an nvcc build here
# would add most of the suite's time again), installs it into two virtual environments and runs
# pytest python/tests in each:
#   build-python/venv-torch  Debian's python3 with its own packages (numpy, torch, matplotlib) and
#                            pytest from PyPI: every test runs (PyPI's matplotlib would bring
#                            numpy 2, which Debian's torch cannot load)
#   build-python/venv-plain  numpy and pytest only: the package without torch or matplotlib (their
#                            tests skip, or check the message naming what to install)
# then runs the examples, shortened: lesson.py in the plain one, from_pytorch.py with torch.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-python
python=/usr/bin/python3
rm -rf "$dir/venv-torch" "$dir/venv-plain" "$dir/dist"  # fresh each run: nothing left from another
mkdir -p "$dir"
"$python" -m venv --system-site-packages "$dir/venv-torch"
"$python" -m venv "$dir/venv-plain"
"$dir/venv-torch/bin/pip" install -q pytest
"$dir/venv-plain/bin/pip" install -q pytest numpy

tools/without_cuda.sh "$dir/venv-plain/bin/pip" wheel -q --no-deps -w "$dir/dist" \
  --config-settings=cmake.define.GENRNN_CUDA=OFF .
for venv in venv-torch venv-plain; do
  echo "== pytest in $dir/$venv" >&2
  "$dir/$venv/bin/pip" install -q --force-reinstall --no-deps "$dir"/dist/genrnn-*.whl
  # From the build folder, so that `import genrnn` is the installed package, not python/genrnn.
  (cd "$dir" && "$venv/bin/python" -m pytest -q -rs ../python/tests)
done
echo "== examples/python/lesson.py --steps 50, examples/python/from_pytorch.py --steps 100" >&2
"$dir/venv-plain/bin/python" examples/python/lesson.py --steps 50
"$dir/venv-torch/bin/python" examples/python/from_pytorch.py --steps 100
