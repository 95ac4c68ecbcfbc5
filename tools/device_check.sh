#!/usr/bin/env bash
# Verifies and measures genrnn on a lent GPU machine in one call: a machine with no network, which
# lacks GoogleTest, CLI11, nlohmann-json, OpenBLAS and the cuDNN headers (hence `prepare`), and is
# lent for minutes at a time (hence the time budget below). README.md, "On a GPU", has the overview.
#
#   tools/device_check.sh prepare       HERE: copy into .deps/ what the device machine lacks
#                                       (GoogleTest sources, CLI11, nlohmann-json, cuDNN headers,
#                                       OpenBLAS with its Fortran runtime) and print the size
#                                       that will travel (limit: 64 MiB per call)
#   tools/device_check.sh run           THERE, from the repository root, with .deps carried:
#                                       versions; configure + build for sm_90 from scratch (the
#                                       library, gen_cuda and the GPU tests); the programming-model
#                                       tests as one process (seconds: a broken basic fails
#                                       first); ctest -L gpu (the GPU tests: CI ran the CPU
#                                       suites); compute-sanitizer memcheck + racecheck over the
#                                       kernel-level GPU tests; gen_cuda bench (the graph and
#                                       persistent decoders at 1, 16 and 64 streams) and
#                                       tools/bench_pytorch.py on the standard GPU suite, and
#                                       PyTorch's decode loop under torch.compile (CUDA graphs)
#                                       at the persistent decoder's goal shape; report.md and
#                                       logs under $OUT
#   tools/device_check.sh dry-run       HERE, as root or where user namespaces are allowed
#                                       (tools/test.sh, so CI, runs it): prepare, then run's build
#                                       and tests (DEVICE_CHECK_ONLY=build,ctest) in a private
#                                       mount namespace where the system's GoogleTest, CLI11,
#                                       nlohmann-json, OpenBLAS, oneDNN and cuDNN headers are
#                                       hidden, as on the GPU machine: the build must come from
#                                       .deps alone and its steps pass (the GPU tests skipping).
#                                       Without the time budget: DEVICE_CHECK_DEADLINE_S only
#                                       (default: 3600). OUT defaults to out/dry_run, the build to
#                                       build-dry-run
#   tools/device_check.sh collect DIR   HERE: copy the report the device tool fetched (DIR holds
#                                       report.md and the JSON records) to
#                                       bench/results/YYYY-MM-DD-<gpu>.md and .json
#
# The device call, after `prepare` here:
#   run(command="bash tools/device_check.sh run", carry=[".deps"], timeout_s=540)
#
# `run` keeps going when a step fails, records pass/fail/skipped and the time of each, stops
# starting steps at its deadline, and exits non-zero if any step failed. Files under $OUT
# (at most 8 come back): report.md, logs.txt (versions, configure, build), ctest.log (the
# programming-model tests and ctest), sanitizers.log, bench.log, genrnn.json (streamed by
# gen_cuda: a run cut short keeps what it measured), pytorch.json, pytorch_graphs.json.
#
# Environment of `run` (all optional):
#   OUT                      where results go (default: out/device_check)
#   DEVICE_CHECK_DEADLINE_S  no step starts or runs past this many seconds (default: the time
#                            budget's, below)
#   DEVICE_CHECK_ONLY        comma list of the step groups to run: build, ctest (the
#                            programming-model tests and ctest), sanitizers, bench (default: all;
#                            versions always run; ctest, sanitizers and the genrnn benchmark need
#                            build)
#   DEVICE_CHECK_JOBS        build and ctest parallelism (default: nproc)
#   DEVICE_CHECK_BUILD_DIR   build folder, made afresh (default: build-device)
#   DEVICE_CHECK_KEEP_BUILD  1: build incrementally in what a warm machine kept (a quick rerun)
#   DEVICE_CHECK_CUDA_ARCH   CMAKE_CUDA_ARCHITECTURES (default: 90)
#   DEVICE_CHECK_SANITIZER_FILTER
#                            the gtest filter of the memcheck and racecheck runs (default: the
#                            kernel-level suites, listed below; '*' for the whole GPU suite,
#                            which takes far more than their caps)
#   CUDNN_LIB_DIR            folder with libcudnn.so.9 (default: found in python3's nvidia/ pip
#                            packages, else through ldconfig or the CUDA toolkit)
#   PYTORCH_BENCH_ARGS       extra flags for tools/bench_pytorch.py (e.g. --compile)
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS_DIR="$REPO_ROOT/.deps"
TRAVEL_LIMIT_MIB=64

# Sources of `prepare` (Debian 12 packages and the CUDA toolkit), each overridable.
GOOGLETEST_SRC="${GOOGLETEST_SRC:-/usr/src/googletest}"
CLI11_INCLUDE="${CLI11_INCLUDE:-/usr/include/CLI}"
NLOHMANN_INCLUDE="${NLOHMANN_INCLUDE:-/usr/include/nlohmann}"
CUDNN_INCLUDE="${CUDNN_INCLUDE:-/usr/local/cuda/include}"
OPENBLAS_LIB="${OPENBLAS_LIB:-/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0}"
OPENBLAS_INCLUDE="${OPENBLAS_INCLUDE:-/usr/include/x86_64-linux-gnu/openblas-pthread}"
# Libraries every Linux machine with a C++ compiler has: never copied next to OpenBLAS, since
# .deps/lib goes on LD_LIBRARY_PATH there and older copies would shadow the system's.
SYSTEM_LIBRARY_PATTERN='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+)\.'

die() { echo "device_check: error: $*" >&2; exit 1; }
say() { echo "device_check: $*" >&2; }

usage() {
  sed -n '2,/^set -uo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  print_time_budget
  echo
  echo "The sanitizers' default gtest filter (DEVICE_CHECK_SANITIZER_FILTER overrides it):"
  printf '  %s\n' "${SANITIZED_TESTS[@]}"
}

# ---------------------------------------------------------------------------------------------
# prepare (here)
# ---------------------------------------------------------------------------------------------

check_prepare_sources() {
  local missing=() path
  for path in "$GOOGLETEST_SRC/CMakeLists.txt" "$CLI11_INCLUDE/CLI.hpp" "$NLOHMANN_INCLUDE/json.hpp" \
              "$CUDNN_INCLUDE/cudnn.h" "$CUDNN_INCLUDE/cudnn_version.h" "$OPENBLAS_LIB" \
              "$OPENBLAS_INCLUDE/cblas.h"; do
    [[ -e $path ]] || missing+=("$path")
  done
  if ((${#missing[@]})); then
    printf '  missing: %s\n' "${missing[@]}" >&2
    die "sources for .deps are missing: run tools/install_deps.sh (libgtest-dev, libcli11-dev, nlohmann-json3-dev, libopenblas-dev) and check the CUDA toolkit's cuDNN headers, or set GOOGLETEST_SRC, CLI11_INCLUDE, NLOHMANN_INCLUDE, CUDNN_INCLUDE, OPENBLAS_LIB, OPENBLAS_INCLUDE"
  fi
  command -v ldd >/dev/null || die "ldd is needed to find OpenBLAS's libraries"
}

# cblas.h and the headers it includes with quotes (openblas_config.h), from OPENBLAS_INCLUDE.
copy_cblas_headers() {
  local queue=(cblas.h) header included
  while ((${#queue[@]})); do
    header=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -e $DEPS_DIR/include/$header ]] && continue
    [[ -e $OPENBLAS_INCLUDE/$header ]] || die "$OPENBLAS_INCLUDE/$header (included by cblas.h) is missing"
    cp -L "$OPENBLAS_INCLUDE/$header" "$DEPS_DIR/include/$header" || die "copying $header failed"
    while read -r included; do
      queue+=("$included")
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$OPENBLAS_INCLUDE/$header")
  done
}

# libopenblas.so.0 (the file the link points to) and the libraries it needs beyond the base system.
copy_openblas_libraries() {
  local soname path
  cp -L "$OPENBLAS_LIB" "$DEPS_DIR/lib/libopenblas.so.0" || die "copying $OPENBLAS_LIB failed"
  while read -r soname path; do
    [[ $soname =~ $SYSTEM_LIBRARY_PATTERN ]] && continue
    [[ -e $path ]] || die "$soname, needed by $OPENBLAS_LIB, is not found (ldd)"
    cp -L "$path" "$DEPS_DIR/lib/$soname" || die "copying $path failed"
    say "  + $soname (needed by libopenblas.so.0)"
  done < <(ldd "$OPENBLAS_LIB" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
}

# The commit this tree is at, for a device machine that gets no .git.
write_commit_file() {
  local commit dirty=""
  commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null) || commit=unknown
  [[ -n $(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="+dirty"
  echo "$commit$dirty" >"$DEPS_DIR/COMMIT"
}

write_manifest() {
  local package
  {
    echo "Filled by tools/device_check.sh prepare on $(date -u '+%F %T') UTC from:"
    printf '  %s\n' "$GOOGLETEST_SRC" "$CLI11_INCLUDE" "$NLOHMANN_INCLUDE" "$CUDNN_INCLUDE/cudnn*.h" \
      "$(readlink -f "$OPENBLAS_LIB")" "$OPENBLAS_INCLUDE/cblas.h"
    echo "Packages:"
    for package in libgtest-dev libcli11-dev nlohmann-json3-dev libopenblas0-pthread libopenblas-dev; do
      dpkg-query -W -f='  ${Package} ${Version}\n' "$package" 2>/dev/null
    done
    echo "cuDNN headers: $(cudnn_header_version "$CUDNN_INCLUDE")"
  } >"$DEPS_DIR/MANIFEST"
}

# Bytes of what a device call sends: tracked and untracked-not-ignored files, plus .deps.
report_travel_size() {
  local tree_bytes deps_bytes total_mib
  tree_bytes=$(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -r stat -L -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  deps_bytes=$(du -sb "$DEPS_DIR" | cut -f1)
  total_mib=$(( (tree_bytes + deps_bytes + 1048575) / 1048576 ))
  echo "working tree $(( tree_bytes / 1024 )) KiB + .deps $(( deps_bytes / 1024 )) KiB = ${total_mib} MiB to travel (limit ${TRAVEL_LIMIT_MIB} MiB)"
  du -sh "$DEPS_DIR"/googletest "$DEPS_DIR"/include "$DEPS_DIR"/lib
  ((total_mib < TRAVEL_LIMIT_MIB)) || die "over the ${TRAVEL_LIMIT_MIB} MiB a device call can send"
}

prepare() {
  check_prepare_sources
  git -C "$REPO_ROOT" check-ignore -q "$DEPS_DIR/" 2>/dev/null ||
    say "warning: .deps/ is not git-ignored: it would travel as part of the working tree"
  rm -rf "${DEPS_DIR:?}/googletest" "${DEPS_DIR:?}/include" "${DEPS_DIR:?}/lib"
  mkdir -p "$DEPS_DIR/include" "$DEPS_DIR/lib" || die "cannot create $DEPS_DIR"
  say "filling $DEPS_DIR"
  cp -rL "$GOOGLETEST_SRC" "$DEPS_DIR/googletest" || die "copying $GOOGLETEST_SRC failed"
  cp -rL "$CLI11_INCLUDE" "$DEPS_DIR/include/CLI" || die "copying $CLI11_INCLUDE failed"
  cp -rL "$NLOHMANN_INCLUDE" "$DEPS_DIR/include/nlohmann" || die "copying $NLOHMANN_INCLUDE failed"
  cp -L "$CUDNN_INCLUDE"/cudnn*.h "$DEPS_DIR/include/" || die "copying the cuDNN headers failed"
  copy_cblas_headers
  copy_openblas_libraries
  write_commit_file
  write_manifest
  say "done: $(cat "$DEPS_DIR/COMMIT"), cuDNN headers $(cudnn_header_version "$DEPS_DIR/include")"
  report_travel_size
}

# ---------------------------------------------------------------------------------------------
# run (there)
# ---------------------------------------------------------------------------------------------

STEP_ORDER=(versions configure build programming_model ctest memcheck racecheck bench_genrnn bench_pytorch
            bench_graphs bench_report)
# The time budget of `run` (seconds), which must end within RUN_BUDGET_S (the device call is
# given 540 s): the least time each step is worth starting with, and the most it may take.
# versions, first, has no cap (its probes time out at 60 s each) and takes about VERSIONS_S;
# with it the caps fill the deadline. A step still running at its limit is killed KILL_GRACE_S
# after it (timeout -k).
RUN_BUDGET_S=480
DEFAULT_DEADLINE_S=420
KILL_GRACE_S=10
VERSIONS_S=10
declare -A STEP_FLOOR=([configure]=10 [build]=40 [programming_model]=5 [ctest]=20 [memcheck]=15
                       [racecheck]=15 [bench_genrnn]=20 [bench_pytorch]=15 [bench_graphs]=20 [bench_report]=5)
declare -A STEP_CAP=([configure]=20 [build]=90 [programming_model]=15 [ctest]=55 [memcheck]=40 [racecheck]=40
                     [bench_genrnn]=60 [bench_pytorch]=40 [bench_graphs]=40 [bench_report]=10)
declare -A STEP_GROUP=([versions]=always [configure]=build [build]=build [programming_model]=ctest [ctest]=ctest
                       [memcheck]=sanitizers [racecheck]=sanitizers [bench_genrnn]=bench
                       [bench_pytorch]=bench [bench_graphs]=bench [bench_report]=bench)
# The sanitizers' default filter: the kernel-level suites and one persistent-decoder case. The
# engine-level suites (thousands of streams, trainings) take minutes under a sanitizer.
SANITIZED_TESTS=(
  'ProgrammingModelGpu.*'
  'EmbeddingGpu.*'
  'OneHotGpu.*'
  'RowsGpu.*'
  'SamplingGpu.*'
  'CellMathGpu.*'
  'CellKernelsEmptyGpu.*'
  'CellsAndShapes/CellKernelsGpu.*'
  'CellsAndDepths/PersistentDecoderVsCpu.DrawsTheCpusTokensAndLeavesItsState/lstm_l2_e6'
)

print_time_budget() {
  local step total=$VERSIONS_S worst=$((DEFAULT_DEADLINE_S + KILL_GRACE_S))
  echo
  echo "Time budget of \`run\` (seconds): a step starts only with its floor left after the later steps'"
  echo "floors, and runs at most its cap, or to the deadline."
  printf '  %-18s %5s %5s\n' step floor cap versions - "~$VERSIONS_S"
  for step in "${STEP_ORDER[@]:1}"; do
    printf '  %-18s %5s %5s\n' "$step" "${STEP_FLOOR[$step]}" "${STEP_CAP[$step]}"
    total=$((total + STEP_CAP[$step]))
  done
  printf '  %-18s %5s %5s\n' sum "" "$total"
  echo "Default deadline ${DEFAULT_DEADLINE_S} s; a step killed there ends the run by ${worst} s,"
  echo "$((RUN_BUDGET_S - worst)) s inside the ${RUN_BUDGET_S} s (8 minutes) it must take."
}

declare -A RESULT=() DURATION=() NOTE=()
declare -A V=()   # versions, filled by collect_versions

cudnn_header_version() {
  local file="$1/cudnn_version.h" major minor patch
  [[ -f $file ]] || { echo unknown; return; }
  major=$(sed -nE 's/^#define CUDNN_MAJOR ([0-9]+).*/\1/p' "$file")
  minor=$(sed -nE 's/^#define CUDNN_MINOR ([0-9]+).*/\1/p' "$file")
  patch=$(sed -nE 's/^#define CUDNN_PATCHLEVEL ([0-9]+).*/\1/p' "$file")
  echo "$major.$minor.$patch"
}

step_selected() {
  local group=${STEP_GROUP[$1]}
  [[ $group == always || -z ${DEVICE_CHECK_ONLY:-} || ,$DEVICE_CHECK_ONLY, == *,$group,* ]]
}

# Seconds the later steps need at the least.
reserve_after() {
  local name=$1 seen=0 total=0 step
  for step in "${STEP_ORDER[@]}"; do
    ((seen)) && [[ -z ${RESULT[$step]:-} ]] && step_selected "$step" && total=$((total + STEP_FLOOR[$step]))
    [[ $step == "$name" ]] && seen=1
  done
  echo "$total"
}

elapsed() { echo $((SECONDS - RUN_START)); }

record_step() {
  local name=$1 result=$2 seconds=$3 note=${4:-}
  RESULT[$name]=$result DURATION[$name]=$seconds NOTE[$name]=$note
  printf '[%4ss] %-17s %-7s %4ss  %s\n' "$(elapsed)" "$name" "$result" "$seconds" "$note"
  write_report
}

# Records NAME as skipped and returns 1 if it should not run (not selected, a missing input, no
# time left); else returns 0 with STEP_LIMIT set to the seconds it may take.
step_may_start() {
  local name=$1 needs=${2:-} left
  if ! step_selected "$name"; then
    record_step "$name" skipped 0 "not in DEVICE_CHECK_ONLY=$DEVICE_CHECK_ONLY"
    return 1
  fi
  if [[ -n $needs ]]; then
    record_step "$name" skipped 0 "$needs"
    return 1
  fi
  left=$((DEADLINE_S - $(elapsed) - $(reserve_after "$name")))
  STEP_LIMIT=$((STEP_CAP[$name] < left ? STEP_CAP[$name] : left))
  if ((STEP_LIMIT < STEP_FLOOR[$name])); then
    record_step "$name" skipped 0 "out of time (deadline ${DEADLINE_S}s)"
    return 1
  fi
}

# run_step NAME LOG STDOUT_FILE CMD...: runs CMD under the step's time limit. Its stderr goes to
# LOG and to $SCRATCH/NAME.log; its stdout to STDOUT_FILE, or with stderr when that is "-".
run_step() {
  local name=$1 log=$2 stdout_file=$3 start rc note=""
  shift 3
  {
    echo
    echo "===== $name: $(date -u '+%F %T') UTC, limit ${STEP_LIMIT}s"
    echo "\$ $*"
  } >>"$log"
  start=$SECONDS
  # In the background, so that a TERM or INT reaches on_signal at once (it stops the step).
  if [[ $stdout_file == - ]]; then
    (timeout -k "$KILL_GRACE_S" "$STEP_LIMIT" "$@" 2>&1 | tee "$SCRATCH/$name.log" >>"$log") &
  else
    (timeout -k "$KILL_GRACE_S" "$STEP_LIMIT" "$@" 2>&1 >"$stdout_file" | tee "$SCRATCH/$name.log" >>"$log") &
  fi
  STEP_PID=$! STEP_NAME=$name
  wait "$STEP_PID"
  rc=$?  # timeout's status, by pipefail (tee succeeds)
  STEP_PID="" STEP_NAME=""
  case $rc in
    0) ;;
    124 | 137) note="timed out after ${STEP_LIMIT}s" ;;
    126 | 127) note="could not run $(program_of "$@") (exit $rc: not found or not executable)" ;;
    *) note="exit status $rc" ;;
  esac
  echo "===== $name: exit $rc after $((SECONDS - start))s" >>"$log"
  record_step "$name" "$([[ $rc == 0 ]] && echo pass || echo fail)" $((SECONDS - start)) "$note"
  return "$rc"
}

# The program a step runs: its command line less a leading `env VAR=value...`.
program_of() {
  [[ $1 == env ]] && shift
  while [[ $1 == *=* ]]; do shift; done
  basename "$1"
}

# The folder holding the device's libcudnn.so.9: CUDNN_LIB_DIR, else python3's nvidia/ pip
# packages (PyTorch's nvidia-cudnn-cu13), else ldconfig's cache or the CUDA toolkit.
find_cudnn_lib_dir() {
  local dir
  if [[ -n ${CUDNN_LIB_DIR:-} ]]; then
    echo "$CUDNN_LIB_DIR"
    return
  fi
  dir=$(timeout 60 python3 - <<'EOF' 2>/dev/null
import os, site, sys
roots = []
for get in (site.getsitepackages, lambda: [site.getusersitepackages()]):
    try:
        roots += get()
    except Exception:
        pass
roots += [p for p in sys.path if p.endswith("-packages")]
for root in dict.fromkeys(roots):
    for folder, _, files in os.walk(os.path.join(root, "nvidia")):
        if "libcudnn.so.9" in files:
            print(folder)
            sys.exit(0)
sys.exit(1)
EOF
  ) && { echo "$dir"; return; }
  dir=$(ldconfig -p 2>/dev/null | awk '$1 == "libcudnn.so.9" {print $NF; exit}')
  [[ -n $dir ]] && { dirname "$dir"; return; }
  for dir in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu; do
    [[ -e $dir/libcudnn.so.9 ]] && { echo "$dir"; return; }
  done
  return 1
}

trim() { sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$1"; }

# Runs a probe command, logs its output, and prints it (empty when it fails).
probe() {
  local output rc
  output=$(timeout 60 "$@" 2>&1)
  rc=$?
  { echo "\$ $*"; echo "$output"; echo "(exit $rc)"; } >>"$LOG"
  ((rc == 0)) && echo "$output"
  return "$rc"
}

commit_id() {
  local commit
  if commit=$(git -C "$REPO_ROOT" -c safe.directory='*' rev-parse HEAD 2>/dev/null); then
    [[ -n $(git -C "$REPO_ROOT" -c safe.directory='*' status --porcelain --untracked-files=no 2>/dev/null) ]] &&
      commit+="+dirty"
    echo "$commit"
  elif [[ -s $REPO_ROOT/COMMIT ]]; then
    head -n1 "$REPO_ROOT/COMMIT"
  elif [[ -s $DEPS_DIR/COMMIT ]]; then
    echo "$(head -n1 "$DEPS_DIR/COMMIT") (from .deps/COMMIT, written by prepare)"
  else
    echo unknown
  fi
}

collect_versions() {
  local start=$SECONDS missing=() line torch_lines gpu driver memory key value
  echo "===== versions: $(date -u '+%F %T') UTC" >>"$LOG"
  if line=$(probe nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader); then
    line=$(head -n1 <<<"$line")
    IFS=',' read -r gpu driver memory <<<"$line"
    V[gpu]=$(trim "$gpu") V[driver]=$(trim "$driver") V[gpu_memory]=$(trim "$memory")
    probe nvidia-smi >/dev/null
  else
    missing+=(nvidia-smi)
  fi
  if line=$(probe nvcc --version); then
    V[cuda]=$(grep -oE 'release [0-9.]+, V[0-9.]+' <<<"$line" | sed -E 's/release ([0-9.]+), (V.*)/\1 (\2)/')
    V[nvcc]=$(command -v nvcc)
  else
    missing+=(nvcc)
  fi
  if line=$(probe cmake --version); then V[cmake]=$(head -n1 <<<"$line" | awk '{print $3}'); else missing+=(cmake); fi
  if command -v ninja >/dev/null; then V[ninja]=$(probe ninja --version); else V[ninja]="not found"; fi
  if line=$(probe compute-sanitizer --version); then
    V[sanitizer]=$(grep -iE 'version' <<<"$line" | tail -n1 | sed -E 's/.*[Vv]ersion[[:space:]]*//')
  else
    missing+=(compute-sanitizer)
  fi
  if torch_lines=$(probe python3 -c '
import torch
print("torch=" + torch.__version__)
print("torch_cuda=" + str(torch.version.cuda))
print("torch_cudnn=" + str(torch.backends.cudnn.version()))
print("torch_gpu=" + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"))
for dist in ("nvidia-cudnn-cu13", "nvidia-cudnn-cu12"):
    try:
        from importlib.metadata import version
        print("cudnn_wheel=" + dist + " " + version(dist))
        break
    except Exception:
        pass
'); then
    while IFS='=' read -r key value; do [[ -n $key ]] && V[$key]=$value; done <<<"$torch_lines"
  else
    missing+=("python3 torch")
  fi
  if V[cudnn_lib_dir]=$(find_cudnn_lib_dir); then
    echo "libcudnn.so.9: ${V[cudnn_lib_dir]}" >>"$LOG"
    V[cudnn_lib]=$(probe python3 -c 'import ctypes, sys; v = ctypes.CDLL(sys.argv[1]).cudnnGetVersion()
print(f"{v // 10000}.{v % 10000 // 100}.{v % 100}")' "${V[cudnn_lib_dir]}/libcudnn.so.9")
    [[ -f ${V[cudnn_lib_dir]}/../include/cudnn_version.h ]] &&
      V[cudnn_lib_headers]=$(cudnn_header_version "${V[cudnn_lib_dir]}/../include")
  else
    V[cudnn_lib_dir]=""
    missing+=(libcudnn.so.9)
  fi
  V[cudnn_headers]=$(cudnn_header_version "$DEPS_DIR/include")
  V[commit]=$(commit_id)
  if [[ -z ${V[gpu]:-} && ${V[torch_gpu]:-none} != none ]]; then V[gpu]=${V[torch_gpu]}; fi
  : "${V[gpu]:=no GPU found}"
  [[ -d $DEPS_DIR/include ]] || missing+=(".deps (run prepare here and carry .deps)")
  {
    echo "versions:"
    for line in "${!V[@]}"; do echo "  $line = ${V[$line]}"; done | sort
  } >>"$LOG"
  if ((${#missing[@]})); then
    local list
    printf -v list '%s, ' "${missing[@]}"
    record_step versions fail $((SECONDS - start)) "missing: ${list%, }"
  else
    record_step versions pass $((SECONDS - start))
  fi
}

# LD_LIBRARY_PATH for genrnn's programs: the device's cuDNN (its sub-libraries are loaded by
# name) and .deps/lib (OpenBLAS finds libgfortran there). PyTorch runs without it.
genrnn_library_path() {
  local path="${V[cudnn_lib_dir]:-}"
  path+="${path:+:}$DEPS_DIR/lib"
  [[ -d /usr/local/cuda/lib64 ]] && path+=":/usr/local/cuda/lib64"
  echo "$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

configure_and_build() {
  local args=(-S "$REPO_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGENRNN_CUDA=ON -DGENRNN_SIMT=OFF
              -DCMAKE_CUDA_ARCHITECTURES="${DEVICE_CHECK_CUDA_ARCH:-90}")
  command -v ninja >/dev/null && args+=(-G Ninja)
  [[ -d $DEPS_DIR ]] && args+=(-DGENRNN_DEPS_DIR="$DEPS_DIR")
  [[ -f $DEPS_DIR/include/cudnn.h ]] && args+=(-DCUDNN_INCLUDE_DIR="$DEPS_DIR/include")
  [[ -n ${V[cudnn_lib_dir]:-} ]] && args+=(-DCUDNN_ROOT="${V[cudnn_lib_dir]}")
  CONFIGURE_COMMAND="cmake ${args[*]}"
  if step_may_start configure; then
    [[ ${DEVICE_CHECK_KEEP_BUILD:-0} == 1 ]] || rm -rf "$BUILD_DIR"
    run_step configure "$LOG" - env LD_LIBRARY_PATH="$GENRNN_LD_PATH" cmake "${args[@]}"
  fi
  # What the GPU machine runs: not the CPU suites, which CI ran.
  if step_may_start build "$([[ ${RESULT[configure]:-} == pass ]] || echo "configure did not pass")"; then
    run_step build "$LOG" - env LD_LIBRARY_PATH="$GENRNN_LD_PATH" \
      cmake --build "$BUILD_DIR" -j"$JOBS" --target genrnn_gpu_tests gen_cuda
  fi
}

built_or_reason() { [[ ${RESULT[build]:-} == pass ]] || echo "build did not pass"; }

gpu_tests_or_reason() {
  local reason
  reason=$(built_or_reason)
  [[ -z $reason && ! -x $GPU_TESTS ]] && reason="no $GPU_TESTS"
  echo "$reason"
}

# The cheapest check first, in one process: barriers, warp collectives, graph capture, launch
# errors and cooperative grids. A broken basic fails here in seconds.
run_programming_model() {
  step_may_start programming_model "$(gpu_tests_or_reason)" || return
  run_step programming_model "$OUT/ctest.log" - env LD_LIBRARY_PATH="$GENRNN_LD_PATH" \
    "$GPU_TESTS" --gtest_filter='ProgrammingModelGpu.*'
}

# A test that hangs fails alone (--timeout), and the others still report.
run_ctest() {
  step_may_start ctest "$(built_or_reason)" || return
  run_step ctest "$OUT/ctest.log" - env LD_LIBRARY_PATH="$GENRNN_LD_PATH" \
    ctest --test-dir "$BUILD_DIR" -L gpu --output-on-failure -j"$JOBS" --timeout 30
}

run_sanitizers() {
  local tool reason
  reason=$(gpu_tests_or_reason)
  for tool in memcheck racecheck; do
    step_may_start "$tool" "$reason" || continue
    run_step "$tool" "$OUT/sanitizers.log" - env LD_LIBRARY_PATH="$GENRNN_LD_PATH" \
      compute-sanitizer --tool "$tool" --error-exitcode 1 "$GPU_TESTS" --gtest_filter="$SANITIZER_FILTER"
  done
}

# The shape of the persistent decoder's goal (bench/standard.json's "char", at one stream), for
# PyTorch's loop under torch.compile with CUDA graphs: compiling every case would not fit.
PYTORCH_GRAPHS_CASE=(--test decode --cell lstm --layers 2 --hidden 512 --embed 64 --vocab 96 --batch 1 -n 256)

run_benchmarks() {
  local gen_cuda="$BUILD_DIR/gen_cuda" reason genrnn_json pytorch_json graphs_json
  reason=$(built_or_reason)
  [[ -z $reason && ! -x $gen_cuda ]] && reason="no $gen_cuda"
  if step_may_start bench_genrnn "$reason"; then
    run_step bench_genrnn "$OUT/bench.log" "$OUT/genrnn.json" env LD_LIBRARY_PATH="$GENRNN_LD_PATH" \
      "$gen_cuda" bench --standard "$REPO_ROOT/bench/standard.json" --suite gpu --engine cudnn,fused \
      --decoder graph,persistent -o json
  fi
  if step_may_start bench_pytorch; then
    # shellcheck disable=SC2086  # PYTORCH_BENCH_ARGS is a list of flags
    run_step bench_pytorch "$OUT/bench.log" "$OUT/pytorch.json" env PYTHONUNBUFFERED=1 \
      python3 "$REPO_ROOT/tools/bench_pytorch.py" --standard "$REPO_ROOT/bench/standard.json" --suite gpu \
      -o json ${PYTORCH_BENCH_ARGS:-}
  fi
  if step_may_start bench_graphs; then
    run_step bench_graphs "$OUT/bench.log" "$OUT/pytorch_graphs.json" env PYTHONUNBUFFERED=1 \
      python3 "$REPO_ROOT/tools/bench_pytorch.py" --device cuda "${PYTORCH_GRAPHS_CASE[@]}" --compile \
      --compile-only -o json
  fi
  # One side missing still gives a table, with "—" there.
  genrnn_json=$(records_or_empty "$OUT/genrnn.json")
  pytorch_json=$(records_or_empty "$OUT/pytorch.json")
  graphs_json=$(records_or_empty "$OUT/pytorch_graphs.json")
  if [[ $genrnn_json == "$EMPTY_JSON" && $pytorch_json == "$EMPTY_JSON" ]]; then
    step_may_start bench_report "no benchmark records" || true
  elif step_may_start bench_report; then
    run_step bench_report "$OUT/bench.log" "$SCRATCH/bench_table.md" \
      python3 "$REPO_ROOT/tools/bench_report.py" "$genrnn_json" "$pytorch_json" "$graphs_json" \
      --title "Benchmarks: genrnn vs PyTorch"
  fi
}

# The file if it holds a JSON array of records, else an empty array's file. An array cut off
# after a record (gen_cuda streams its records: a timeout or an error stops it there) is closed
# in place first, so the report and `collect` keep what was measured.
records_or_empty() {
  if [[ -s $1 ]] && python3 - "$1" <<'EOF' 2>/dev/null; then
import json, sys
path = sys.argv[1]
with open(path) as f:
    text = f.read()
try:
    records = json.loads(text)
except ValueError:
    text = text.rstrip().rstrip(",") + "\n]\n"
    records = json.loads(text)
    with open(path, "w") as f:
        f.write(text)
sys.exit(not isinstance(records, list))
EOF
    echo "$1"
  else
    echo "$EMPTY_JSON"
  fi
}

# ---- report ---------------------------------------------------------------------------------

ctest_summary() {
  local log="$SCRATCH/ctest.log" total failed
  if [[ ! -f $log ]]; then echo "ctest did not run."; return; fi
  total=$(grep -oE 'tests failed out of [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n1)
  failed=$(grep -oE '[0-9]+ tests failed out of' "$log" | grep -oE '^[0-9]+' | tail -n1)
  if [[ -z $total ]]; then
    echo "No ctest summary (see ctest.log): ${NOTE[ctest]:-}"
    return
  fi
  local failed_names skipped_names
  mapfile -t failed_names < <(ctest_section "The following tests FAILED:" "$log")
  mapfile -t skipped_names < <(ctest_section "The following tests did not run:" "$log")
  echo "**$((total - failed - ${#skipped_names[@]})) passed, $failed failed, ${#skipped_names[@]} skipped** of $total."
  if ((${#failed_names[@]})); then
    echo
    echo "Failed:"
    printf -- "- \`%s\`\n" "${failed_names[@]}"
  fi
  if ((${#skipped_names[@]})); then
    echo
    echo "Skipped (on a GPU machine a skipped GPU test means the GPU was not usable):"
    printf -- "- \`%s\`\n" "${skipped_names[@]:0:30}"
    ((${#skipped_names[@]} > 30)) && echo "- and $((${#skipped_names[@]} - 30)) more (ctest.log)"
  fi
}

# Test names listed under a ctest summary heading ("  12 - Suite.Name (Failed)").
ctest_section() {
  awk -v heading="$1" 'index($0, heading) {inside = 1; next}
    inside && /^[[:space:]]+[0-9]+ - / {sub(/^[[:space:]]+[0-9]+ - /, ""); sub(/ \(Skipped\)$/, ""); print; next}
    inside {inside = 0}' "$2"
}

# A step that ran genrnn_gpu_tests: its result, the sanitizer's summary if any, gtest's counts.
gtest_step_summary() {
  local step=$1 log="$SCRATCH/$1.log" line
  if [[ ! -f $log ]]; then echo "- $step: ${RESULT[$step]:-not run} ${NOTE[$step]:+(${NOTE[$step]})}"; return; fi
  line=$(grep -E '(ERROR|RACECHECK) SUMMARY' "$log" | tail -n1 | sed -E 's/^=+ *//')
  echo "- $step: **${RESULT[$step]:-not run}**${line:+, $line}${NOTE[$step]:+ (${NOTE[$step]})}; gtest: $(gtest_line "$log")"
}

gtest_line() {
  local passed failed skipped
  passed=$(grep -oE '^\[  PASSED  \] [0-9]+' "$1" | grep -oE '[0-9]+$' | tail -n1)
  skipped=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$1" | grep -oE '[0-9]+' | tail -n1)
  failed=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$1" | grep -oE '[0-9]+' | tail -n1)
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
}

cudnn_cell() {
  local text="library ${V[cudnn_lib]:-?}"
  [[ -n ${V[cudnn_wheel]:-} ]] && text+=" (pip ${V[cudnn_wheel]})"
  [[ -n ${V[torch_cudnn]:-} ]] && text+=" (PyTorch reports ${V[torch_cudnn]})"
  text+=" at \`${V[cudnn_lib_dir]:-not found}\`; built with headers ${V[cudnn_headers]:-?} from .deps"
  [[ -n ${V[cudnn_lib_headers]:-} ]] && text+=" (the library's own headers: ${V[cudnn_lib_headers]})"
  echo "$text"
}

write_report() {
  local step
  {
    echo "# genrnn device check: $REPORT_DATE, ${V[gpu]:-unknown GPU}"
    echo "<!-- device_check date=$REPORT_DATE gpu=${V[gpu]:-unknown} -->"
    echo
    echo "Commit \`${V[commit]:-unknown}\`, \`tools/device_check.sh run\` on $(hostname 2>/dev/null || echo '?'), $(elapsed) s in all."
    [[ -n ${INTERRUPTED:-} ]] && echo && echo "**Incomplete: $INTERRUPTED.**"
    echo
    echo "| | |"
    echo "| --- | --- |"
    echo "| GPU | ${V[gpu]:-?}${V[gpu_memory]:+, ${V[gpu_memory]}} |"
    echo "| Driver | ${V[driver]:-?} |"
    echo "| CUDA (nvcc) | ${V[cuda]:-?} |"
    echo "| cuDNN | $(cudnn_cell) |"
    echo "| PyTorch | ${V[torch]:-?} (CUDA ${V[torch_cuda]:-?}, sees ${V[torch_gpu]:-?}) |"
    echo "| CMake / Ninja | ${V[cmake]:-?} / ${V[ninja]:-?} |"
    echo "| compute-sanitizer | ${V[sanitizer]:-?} |"
    echo "| Commit | \`${V[commit]:-unknown}\` |"
    echo
    echo "## Steps"
    echo
    echo "| step | result | seconds | notes |"
    echo "| --- | --- | ---: | --- |"
    for step in "${STEP_ORDER[@]}"; do
      echo "| $step | ${RESULT[$step]:-not run} | ${DURATION[$step]:-} | ${NOTE[$step]:-} |"
    done
    echo
    echo "Configured with \`${CONFIGURE_COMMAND:-?}\`."
    echo
    echo "## GPU tests"
    echo
    echo "First, as one process, \`genrnn_gpu_tests --gtest_filter='ProgrammingModelGpu.*'\`:"
    echo
    gtest_step_summary programming_model
    echo
    echo "Then \`ctest -L gpu\` (the CPU suites ran in CI):"
    echo
    ctest_summary
    echo
    echo "## compute-sanitizer over the kernel-level GPU tests"
    echo
    echo "\`genrnn_gpu_tests --gtest_filter='$SANITIZER_FILTER'\`:"
    echo
    gtest_step_summary memcheck
    gtest_step_summary racecheck
    echo
    if [[ -s $SCRATCH/bench_table.md ]]; then
      cat "$SCRATCH/bench_table.md"
    else
      echo "## Benchmarks: genrnn vs PyTorch"
      echo
      echo "No table: genrnn ${RESULT[bench_genrnn]:-not run}, PyTorch ${RESULT[bench_pytorch]:-not run}, report ${RESULT[bench_report]:-not run} (see bench.log)."
    fi
    echo
    echo "Logs: logs.txt (versions, configure, build), ctest.log, sanitizers.log, bench.log;"
    echo "records: genrnn.json, pytorch.json, pytorch_graphs.json."
  } >"$OUT/report.md.tmp" && mv "$OUT/report.md.tmp" "$OUT/report.md"
}

print_summary() {
  local step
  FAILED_STEPS=0
  echo
  echo "================ report.md ================"
  cat "$OUT/report.md"
  echo
  echo "================ summary ================"
  echo "${V[gpu]:-?} | driver ${V[driver]:-?} | CUDA ${V[cuda]:-?} | PyTorch ${V[torch]:-?} | commit ${V[commit]:-?}"
  for step in "${STEP_ORDER[@]}"; do
    printf '%-17s %-8s %5ss  %s\n' "$step" "${RESULT[$step]:-not run}" "${DURATION[$step]:-0}" "${NOTE[$step]:-}"
    [[ ${RESULT[$step]:-} == fail ]] && FAILED_STEPS=$((FAILED_STEPS + 1))
  done
  echo "$FAILED_STEPS step(s) failed; $(elapsed) s in all; files in $OUT"
}

on_signal() {
  trap - TERM INT
  say "interrupted after $(elapsed) s"
  # timeout passes the signal on to the step's whole process group.
  if [[ -n ${STEP_PID:-} ]]; then
    pkill -TERM -P "$STEP_PID" timeout
    RESULT[$STEP_NAME]=fail NOTE[$STEP_NAME]="interrupted"
  fi
  INTERRUPTED="interrupted by a signal after $(elapsed) s: the steps not run are missing"
  write_report
  print_summary
  exit 130
}

run() {
  RUN_START=$SECONDS
  DEADLINE_S=${DEVICE_CHECK_DEADLINE_S:-$DEFAULT_DEADLINE_S}
  JOBS=${DEVICE_CHECK_JOBS:-$(nproc)}
  OUT=${OUT:-$REPO_ROOT/out/device_check}
  BUILD_DIR=${DEVICE_CHECK_BUILD_DIR:-$REPO_ROOT/build-device}
  GPU_TESTS="$BUILD_DIR/tests/genrnn_gpu_tests"
  SANITIZER_FILTER=${DEVICE_CHECK_SANITIZER_FILTER:-$(IFS=:; echo "${SANITIZED_TESTS[*]}")}
  REPORT_DATE=$(date -u +%F)
  mkdir -p "$OUT" || die "cannot create OUT=$OUT"
  OUT=$(cd "$OUT" && pwd)
  LOG="$OUT/logs.txt"
  SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/device_check.XXXXXX") || die "cannot create a scratch folder"
  EMPTY_JSON="$SCRATCH/empty.json"
  echo "[]" >"$EMPTY_JSON"
  rm -f "$OUT"/{report.md,logs.txt,ctest.log,sanitizers.log,bench.log,genrnn.json,pytorch.json,pytorch_graphs.json}
  [[ -d /usr/local/cuda/bin && ":$PATH:" != *:/usr/local/cuda/bin:* ]] && PATH="$PATH:/usr/local/cuda/bin"
  cd "$REPO_ROOT" || die "cannot enter $REPO_ROOT"
  trap on_signal TERM INT
  INTERRUPTED=""
  echo "device_check run: deadline ${DEADLINE_S}s, ${JOBS} jobs, OUT=$OUT"

  collect_versions
  GENRNN_LD_PATH=$(genrnn_library_path)
  echo "LD_LIBRARY_PATH for genrnn: $GENRNN_LD_PATH" >>"$LOG"
  configure_and_build
  run_programming_model
  run_ctest
  run_sanitizers
  run_benchmarks
  write_report
  print_summary
  rm -rf "$SCRATCH"
  ((FAILED_STEPS == 0))
}

# ---------------------------------------------------------------------------------------------
# dry-run (here)
# ---------------------------------------------------------------------------------------------

# What the GPU machine lacks, as this machine has it: the sources of `prepare` and whatever else
# would let CMake or the compiler find the system's copies (CMake packages, static libraries;
# /usr/local/include links to the cuDNN headers too). And oneDNN, which the GPU machine lacks as
# well. Each pattern must match: a package that moved fails the dry run instead of staying in
# sight.
DRY_RUN_HIDDEN=(
  "$GOOGLETEST_SRC" /usr/include/gtest /usr/include/gmock /usr/lib/x86_64-linux-gnu/cmake/GTest
  '/usr/lib/x86_64-linux-gnu/libgtest*.a' '/usr/lib/x86_64-linux-gnu/libgmock*.a'
  "$CLI11_INCLUDE" /usr/share/cmake/CLI11
  "$NLOHMANN_INCLUDE" /usr/share/cmake/nlohmann_json
  "$OPENBLAS_INCLUDE" "$(dirname "$OPENBLAS_LIB")"
  /usr/lib/x86_64-linux-gnu/cmake/dnnl
  "$CUDNN_INCLUDE/cudnn*.h"
)

# In the private mount namespace: each of DRY_RUN_HIDDEN behind an empty folder or file, both
# in the folder EMPTY. The system's links to them (Debian's alternatives, /usr/local/include)
# then lead nowhere or there.
hide_system_packages() {
  local pattern path
  EMPTY=$(mktemp -d "${TMPDIR:-/tmp}/device_check_empty.XXXXXX") || die "cannot create a scratch folder"
  { mkdir "$EMPTY/folder" && : >"$EMPTY/file"; } || die "cannot fill $EMPTY"
  for pattern in "${DRY_RUN_HIDDEN[@]}"; do
    for path in $pattern; do  # unquoted: the globs expand
      [[ -e $path ]] || die "nothing to hide at $path: the dry run would not be the GPU machine's build"
      path=$(readlink -f "$path")
      mount --bind "$EMPTY/$([[ -d $path ]] && echo folder || echo file)" "$path" || die "hiding $path failed"
    done
  done
  say "hidden: ${DRY_RUN_HIDDEN[*]}"
}

# Every step of the dry run's groups passed (not versions, which fails on a machine without a GPU).
dry_run_verdict() {
  local step checked=() failed=()
  for step in "${STEP_ORDER[@]}"; do
    if [[ ${STEP_GROUP[$step]} == always ]] || ! step_selected "$step"; then continue; fi
    checked+=("$step")
    [[ ${RESULT[$step]:-} == pass ]] || failed+=("$step ${RESULT[$step]:-not run}")
  done
  if ((${#failed[@]})); then
    say "dry run failed: ${failed[*]} (see $OUT)"
    return 1
  fi
  say "dry run passed: ${checked[*]}, from .deps alone (versions fails here, having no GPU); see $OUT"
}

dry_run() {
  local user_namespace=()
  if [[ -z ${DEVICE_CHECK_DRY_RUN_NAMESPACE:-} ]]; then
    command -v unshare >/dev/null || die "dry-run needs unshare (util-linux)"
    prepare
    # A mount namespace of its own: the mounts hiding the packages live and die with it. Not
    # root: in a user namespace as well, where the kernel allows one.
    ((EUID == 0)) || user_namespace=(--map-root-user)
    DEVICE_CHECK_DRY_RUN_NAMESPACE=1 exec unshare --mount --propagation private "${user_namespace[@]}" \
      "$BASH" "${BASH_SOURCE[0]}" dry-run
  fi
  hide_system_packages
  OUT=${OUT:-$REPO_ROOT/out/dry_run}
  DEVICE_CHECK_BUILD_DIR=${DEVICE_CHECK_BUILD_DIR:-$REPO_ROOT/build-dry-run}
  DEVICE_CHECK_ONLY=build,ctest
  # The GPU machine's time budget does not apply: a build machine's few cores take many times
  # its minutes. Only a deadline, which a hung step cannot pass.
  DEVICE_CHECK_DEADLINE_S=${DEVICE_CHECK_DEADLINE_S:-3600}
  for step in "${!STEP_CAP[@]}"; do STEP_CAP[$step]=$DEVICE_CHECK_DEADLINE_S; done
  run
  rm -rf "$EMPTY"
  dry_run_verdict
}

# ---------------------------------------------------------------------------------------------
# collect (here)
# ---------------------------------------------------------------------------------------------

collect() {
  local dir=${1:-} report folder marker date gpu slug destination
  [[ -n $dir ]] || die "collect needs the folder the device tool fetched (with report.md)"
  [[ -d $dir ]] || die "no folder $dir"
  report=$(find "$dir" -maxdepth 3 -name report.md -print -quit)
  [[ -n $report ]] || die "no report.md under $dir"
  folder=$(dirname "$report")
  marker=$(grep -m1 -oE '<!-- device_check date=[0-9]{4}-[0-9]{2}-[0-9]{2} gpu=.* -->' "$report") ||
    die "$report has no '<!-- device_check date=... gpu=... -->' line: not written by device_check.sh run?"
  date=$(sed -E 's/.*date=([0-9-]+) .*/\1/' <<<"$marker")
  gpu=$(sed -E 's/.* gpu=(.*) -->/\1/' <<<"$marker")
  slug=$(tr '[:upper:]' '[:lower:]' <<<"$gpu" | sed -E 's/[[:space:]]+/-/g; s/[^a-z0-9._-]//g')
  destination="$REPO_ROOT/bench/results/$date-${slug:-unknown-gpu}"
  mkdir -p "$REPO_ROOT/bench/results"
  [[ -e $destination.md ]] && say "replacing $destination.md"
  cp "$report" "$destination.md" || die "copying $report failed"
  # The JSON of all records: genrnn's, then PyTorch's.
  python3 - "$destination.json" "$folder/genrnn.json" "$folder/pytorch.json" "$folder/pytorch_graphs.json" <<'EOF' || die "merging the JSON records failed"
import json, sys
records = []
for path in sys.argv[2:]:
    try:
        with open(path) as f:
            loaded = json.load(f)
    except (OSError, ValueError) as e:
        print(f"device_check: warning: {path}: {e}; left out", file=sys.stderr)
        continue
    records += loaded if isinstance(loaded, list) else []
with open(sys.argv[1], "w") as f:
    json.dump(records, f, indent=1)
    f.write("\n")
print(f"device_check: {len(records)} records", file=sys.stderr)
EOF
  echo "${destination#"$REPO_ROOT"/}.md"
  echo "${destination#"$REPO_ROOT"/}.json"
  say "add them with: git add ${destination#"$REPO_ROOT"/}.md ${destination#"$REPO_ROOT"/}.json"
}

main() {
  case ${1:-} in
    prepare) prepare ;;
    run) run ;;
    dry-run) dry_run ;;
    collect) shift; collect "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) echo "device_check: unknown command '$1'" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
