#!/usr/bin/env bash
# Installs Open MPI (mpirun + libmpi.so.40), which data-parallel training needs, when it is missing.
#   tools/install-mpi.sh        # Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev (as root or with sudo)
# Other systems: install Open MPI 4.1 or newer with the package manager (Fedora: dnf install openmpi,
# then `module load mpi/openmpi-x86_64`; macOS: brew install open-mpi) and put mpirun on the PATH.
set -euo pipefail

have_mpi() {
  command -v mpirun >/dev/null 2>&1 && { ldconfig -p 2>/dev/null | grep -q 'libmpi\.so\.40' || [[ -n "${TESSERA_MPI_LIB:-}" ]]; }
}

if have_mpi; then
  echo "install-mpi: Open MPI is installed ($(mpirun --version 2>/dev/null | head -1))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-mpi: no apt-get here; install Open MPI 4.1+ with your package manager (see the top of $0)" >&2
  exit 1
fi
if [[ "$(id -u)" == 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-mpi: run as root (or install sudo): apt-get install openmpi-bin libopenmpi-dev" >&2
  exit 1
fi
echo "install-mpi: apt-get install openmpi-bin libopenmpi-dev" >&2
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
have_mpi || { echo "install-mpi: installed, but mpirun or libmpi.so.40 is still missing" >&2; exit 1; }
echo "install-mpi: $(mpirun --version | head -1)"
