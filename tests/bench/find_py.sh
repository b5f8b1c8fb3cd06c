# Sourced by the bench checks: sets py to a python3 that has matplotlib (the
# one on the PATH, else Debian's), or exits 77 (skip) saying what to install.
py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import matplotlib' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	echo "SKIP: no python3 with matplotlib (apt-get install python3-matplotlib)"
	exit 77
fi
