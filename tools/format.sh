#!/usr/bin/env bash
# Formats genrnn's C++ and CUDA sources with clang-format and the repository's .clang-format.
#   tools/format.sh [PATH...]           formats the files in place
#   tools/format.sh --check [PATH...]   changes nothing; lists the files that differ from their
#                                       formatted selves and exits 1 if there are any
# PATHs (files or folders) narrow it; by default, every C++ and CUDA file git knows of (tracked,
# or untracked and not ignored: a build folder and .deps/ are not). CLANG_FORMAT names the binary
# (default: clang-format, version 14 or later; Debian: apt-get install clang-format).
# Lines between `// clang-format off` and `// clang-format on` are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
paths=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tools/format.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) paths+=("$arg") ;;
  esac
done

clang_format="${CLANG_FORMAT:-clang-format}"
if ! command -v "$clang_format" >/dev/null; then
  echo "tools/format.sh: $clang_format not found (Debian: apt-get install clang-format)" >&2
  exit 2
fi
version="$("$clang_format" --version | grep -oE '[0-9]+\.[0-9]+' | head -1)"
if ((${version%%.*} < 14)); then
  echo "tools/format.sh: $clang_format is version $version; .clang-format needs 14 or later" >&2
  exit 2
fi

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- "${paths[@]}" |
                     grep -E '\.(c|cc|cpp|cxx|h|hh|hpp|cu|cuh|inc)$' | sort -u)
present=()
for file in "${files[@]}"; do [ -f "$file" ] && present+=("$file"); done  # deleted, not yet staged
if ((${#present[@]} == 0)); then
  echo "tools/format.sh: no C++ or CUDA files under ${paths[*]:-.}" >&2
  exit 2
fi

if ((check == 0)); then
  printf '%s\0' "${present[@]}" | xargs -0 -n 16 -P "$(nproc)" "$clang_format" -i --style=file
  exit 0
fi

# One line per file that formatting would change, in name order.
differ="$(printf '%s\0' "${present[@]}" |
          xargs -0 -n 1 -P "$(nproc)" sh -c '"$0" --style=file "$1" | cmp -s - "$1" || echo "$1"' "$clang_format" |
          sort)"
if [ -n "$differ" ]; then
  echo "$differ"
  echo "tools/format.sh: $(echo "$differ" | wc -l) of ${#present[@]} differ from clang-format's;" \
       "tools/format.sh without --check formats them" >&2
  exit 1
fi
echo "tools/format.sh: ${#present[@]} checked, none differs" >&2
