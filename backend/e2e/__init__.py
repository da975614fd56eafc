"""End-to-end checks of a running stage and the stage-move harness (python -m e2e --help).

Run on the host against a live cluster, never inside the app: it speaks HTTP and websockets to the
stage's entry and uses kubectl (get, logs, exec, delete pod) in the stage's namespace. Its logic
(what a stage offers, where a path goes, what counts as a pass) is pure and unit-tested in
backend/tests/test_e2e_*.py; the checks themselves take their clients as arguments."""
