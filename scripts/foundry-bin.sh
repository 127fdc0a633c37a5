# Sourced by scripts/{forge,anvil,cast}.sh: resolves the Foundry binary that
# npm installed for this platform (see package.json).
foundry_bin() {
  local tool="$1" root os arch dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "scripts/$tool.sh: unsupported OS $(uname -s)" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "scripts/$tool.sh: unsupported CPU $(uname -m)" >&2; return 1 ;;
  esac
  dir="$root/node_modules/@foundry-rs/$tool-$os-$arch/bin"
  if [ ! -x "$dir/$tool" ]; then
    echo "scripts/$tool.sh: $dir/$tool is missing; run scripts/install-toolchain.sh" >&2
    return 1
  fi
  printf '%s\n' "$dir/$tool"
}
