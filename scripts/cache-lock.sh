# Sourced by the scripts that install into the cache (${FUSED_LS_CACHE:-~/.cache/fused-ls}).
# `cache_lock NAME` holds an exclusive lock on the cache's NAME until the script exits, so two
# installs of the same thing never interleave: cargo runs test binaries in parallel, and on a
# fresh machine two of them calling one setup script raced (one `python3 -m venv` failed with
# "File exists", the other used the half-made venv: "No module named pip"). Check readiness again
# once the lock is held: the other process may have finished the install meanwhile.
cache_lock() {
  local dir="${FUSED_LS_CACHE:-$HOME/.cache/fused-ls}"
  mkdir -p "$dir"
  exec 9>"$dir/.$1.lock"
  flock 9
}
