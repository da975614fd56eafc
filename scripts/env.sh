# Sourced by every project script: where the tools, the plugins and the state live.
# Everything here can be overridden from the environment (e.g. PULUMI_BACKEND_URL for a team backend).
STAGECRAFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export STAGECRAFT_ROOT
export STAGECRAFT_TOOLS="${STAGECRAFT_TOOLS:-$STAGECRAFT_ROOT/.tools}"
export PATH="$STAGECRAFT_TOOLS/bin:$STAGECRAFT_ROOT/node_modules/.bin:$PATH"
# Plugins are registered here, not in ~/.pulumi, so the project stays self-contained.
export PULUMI_HOME="${PULUMI_HOME:-$STAGECRAFT_TOOLS/pulumi-home}"
# State: the local file backend inside the project (ignored by git) unless a team backend is given.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$STAGECRAFT_ROOT/.pulumi-state}"
# A file backend's directory must exist before the first `pulumi stack select` (a fresh clone has none).
if [[ "$PULUMI_BACKEND_URL" == file://* ]]; then
  state_dir="${PULUMI_BACKEND_URL#file://}"
  mkdir -p "${state_dir%%\?*}"
fi
# Local default passphrase for the stack files' secrets. A real environment sets its own
# (or its own secrets provider); this one protects only the demo stacks in stacks/.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-stagecraft-local-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=1
# No network for plugin downloads here: a missing plugin must be an error, not a hang.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=1
export GOTOOLCHAIN=local
# Plugins come from PULUMI_HOME, where scripts/toolchain.sh registers them, not from PATH: an
# ambient plugin earns a "using ... from $PATH" warning on every run, and .tools/bin is on PATH.
# (The language host is still found beside the pulumi binary, where the CLI looks for it.)
export PULUMI_IGNORE_AMBIENT_PLUGINS="${PULUMI_IGNORE_AMBIENT_PLUGINS:-1}"
# The program loads through boot/ (package.json `main`), which transpiles each file once and keeps
# it (boot/transpileCache.js); types are tsc's job, in `npm test` and CI. Set this to false to have
# ts-node load and type-check the program in the engine again (boot/index.js registers it).
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
# Every Node process starts with boot/runner.js, which acts only in the SDK's program runner: there
# it honours Pulumi.yaml's `typescript: false` (the host built from sdk v3.58.0 cannot read it),
# loads the SDK's function serializer on first use, and keeps the SDK's debug log lines from the
# engine (STAGECRAFT_SDK_DEBUG_LOGS=true sends them, for `pulumi --debug`). Why: boot/runner.js.
case "${NODE_OPTIONS:-}" in
  *"$STAGECRAFT_ROOT/boot/runner.js"*) ;;
  *) export NODE_OPTIONS="--require \"$STAGECRAFT_ROOT/boot/runner.js\"${NODE_OPTIONS:+ $NODE_OPTIONS}" ;;
esac
# The program never reads a resource back out of an output (a Helm chart's `resources` list is
# unused), so outputs carry URNs instead of resource references: with references on, the SDK turns
# each of a chart's objects into a Resource by asking the engine for its whole state, ~40 calls per
# ddd preview (~0.3 s of a no-op preview of a live stack, docs/benchmarks.md §4). A program that
# needs references back sets this to false.
export PULUMI_DISABLE_RESOURCE_REFERENCES="${PULUMI_DISABLE_RESOURCE_REFERENCES:-true}"
