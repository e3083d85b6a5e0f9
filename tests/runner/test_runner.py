"""``llm-monitor run``: monitoring with no code change, and the program's behaviour passed through unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runner_support import APP, base_env, calls, records, run, runner, user_texts, write

from llm_monitor_sdk._bootstrap import BOOTSTRAP_DIR
from llm_monitor_sdk.cli.run import child_environment


def test_a_script_that_never_calls_instrument_is_recorded(tmp_path):
    write(tmp_path, "app.py", APP)
    result = run(["python", "app.py", "alpha", "beta"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "got reply\ngot reply\n"
    assert result.stderr == ""  # nothing of ours on the program's stderr
    got = calls(tmp_path)
    assert [user_texts(c) for c in got] == [["alpha"], ["beta"]]
    assert all(c["status"] == "ok" and c["usage"]["output_tokens"] for c in got)


def test_instrument_runs_when_the_program_first_imports_a_provider(tmp_path):
    write(
        tmp_path,
        "app.py",
        """
        import sys
        before = "llm_monitor_sdk" in sys.modules
        import openai                      # the trigger: instrument() runs as this import completes
        after = "llm_monitor_sdk" in sys.modules
        from llm_monitor_sdk import _runtime
        print(before, after, _runtime.active is not None)
        from llm_monitor_sdk.testing import FakeProvider
        with FakeProvider() as fake:
            client = openai.OpenAI(api_key="k", base_url=fake.openai_base_url, max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "q"}])
        """,
    )
    result = run(["python", "app.py"], tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "False True True\n", "")
    assert [user_texts(c) for c in calls(tmp_path)] == [["q"]]


@pytest.mark.parametrize(("eager", "loaded"), [("", "False"), ("true", "True")])
def test_a_program_that_never_touches_an_llm_does_not_load_the_sdk(tmp_path, eager, loaded):
    write(tmp_path, "app.py", "import json, sys\nprint('llm_monitor_sdk' in sys.modules)\n")
    result = run(["python", "app.py"], tmp_path, env=base_env(tmp_path, LLM_MONITOR_RUN_EAGER=eager))
    assert (result.returncode, result.stdout, result.stderr) == (0, loaded + "\n", "")


def test_exit_status_stdout_stderr_and_stdin_pass_through(tmp_path):
    write(
        tmp_path,
        "app.py",
        """
        import sys
        data = sys.stdin.read()
        sys.stdout.write("out:" + data.upper())
        sys.stderr.write("err:" + data[::-1])
        sys.exit(7)
        """,
    )
    result = run(["--", sys.executable, "app.py"], tmp_path, input="abc\n")
    assert (result.returncode, result.stdout, result.stderr) == (7, "out:ABC\n", "err:\ncba")


def test_the_program_keeps_the_runners_pid_and_gets_its_signals(tmp_path):
    write(
        tmp_path,
        "app.py",
        """
        import os, signal, sys, time
        def on_term(signum, frame):
            print("terminated", flush=True)
            sys.exit(42)
        signal.signal(signal.SIGTERM, on_term)
        print(os.getpid(), flush=True)
        time.sleep(60)
        """,
    )
    process = subprocess.Popen(
        [*runner(), "run", sys.executable, "app.py"],
        cwd=tmp_path,
        env=base_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert int(process.stdout.readline()) == process.pid  # exec'd in place, not a child
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert (process.returncode, out, err) == (42, "terminated\n", "")


def test_death_by_signal_is_reported_as_such(tmp_path):
    result = run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], tmp_path)
    assert result.returncode == -signal.SIGKILL


def test_python_dash_m_and_a_console_script(tmp_path):
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/__main__.py", APP.replace('if __name__ == "__main__":', "if True:"))
    result = run(["python", "-m", "pkg", "from-m"], tmp_path)
    assert result.returncode == 0, result.stderr
    # A console script is a file with a shebang line naming the interpreter, as pip writes them.
    write(tmp_path, "lib_app.py", APP)
    script = write(
        tmp_path,
        "bin/my-app",
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport lib_app\nlib_app.main(sys.argv[1:])\n",
    )
    script.chmod(0o755)
    env = base_env(tmp_path)
    env["PATH"] = f"{script.parent}{os.pathsep}{env.get('PATH', '')}"
    result = run(["my-app", "from-script"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert [user_texts(c) for c in calls(tmp_path)] == [["from-m"], ["from-script"]]


def test_an_app_that_instruments_itself_records_each_call_once(tmp_path):
    write(tmp_path, "lib_app.py", APP)
    write(
        tmp_path,
        "app.py",
        """
        import llm_monitor_sdk as lm
        import lib_app
        lib_app.main(["before"])            # recorded by the runner's instrument()
        lm.instrument()                     # the app's own call: reconfigures, never double-patches
        lib_app.main(["after-1", "after-2"])
        lm.instrument(service_name="mine")  # and again, with its own settings
        lib_app.main(["after-3"])
        """,
    )
    result = run(["python", "app.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    got = calls(tmp_path)
    assert sorted(t for c in got for t in user_texts(c)) == ["after-1", "after-2", "after-3", "before"]
    assert len({c["record_id"] for c in got}) == 4
    assert {c["service_name"] for c in got if user_texts(c) == ["after-3"]} == {"mine"}


def test_python_subprocesses_inherit_monitoring(tmp_path):
    write(tmp_path, "lib_app.py", APP)
    write(
        tmp_path,
        "app.py",
        """
        import subprocess, sys
        import lib_app
        lib_app.main(["parent"])
        subprocess.run([sys.executable, "-c", "import lib_app; lib_app.main(['child'])"], check=True)
        """,
    )
    result = run(["python", "app.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    got = calls(tmp_path)
    assert sorted(t for c in got for t in user_texts(c)) == ["child", "parent"]


_POOL_APP = """
import multiprocessing as mp, os, sys
import lib_app

def work(word):
    lib_app.main([word])
    return os.getpid()

if __name__ == "__main__":
    lib_app.main(["parent"])
    # One task per worker: each worker process exits right after its call, as short-lived workers do.
    pool = mp.get_context(sys.argv[1]).Pool(3, maxtasksperchild=1)
    pids = pool.map_async(work, [f"task-{i}" for i in range(6)], chunksize=1).get(timeout=60)
    pool.close()
    pool.join()
    print(len(set(pids)))
"""


def _pool(tmp_path, method):
    write(tmp_path, "lib_app.py", APP)
    write(tmp_path, "app.py", _POOL_APP)
    # The default flush interval: a record is exported within a second, or when the process exits.
    env = base_env(tmp_path, LLM_MONITOR_FLUSH_INTERVAL="1.0")
    result = run(["python", "app.py", method], tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "6"  # six worker processes, one call each
    got = calls(tmp_path)
    assert sorted(t for c in got for t in user_texts(c)) == sorted(
        ["parent", *(f"task-{i}" for i in range(6))]
    )


def test_a_spawned_worker_pool_records_calls_from_every_worker(tmp_path):
    # Each worker is a fresh interpreter that inherits the environment: the bootstrap runs in it again.
    _pool(tmp_path, "spawn")


def test_a_forked_worker_pool_records_calls_from_every_worker(tmp_path):
    # The workers inherit the instrumented interpreter; the pipeline restarts its worker in each child.
    _pool(tmp_path, "fork")


def test_disabled_is_a_plain_exec(tmp_path):
    write(tmp_path, "app.py", APP + "\nimport os\nprint('PYTHONPATH=' + os.environ.get('PYTHONPATH', ''))\n")
    env = base_env(tmp_path, LLM_MONITOR_DISABLED="true", PYTHONPATH="/somewhere")
    result = run(["python", "app.py", "x"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "got reply\nPYTHONPATH=/somewhere\n"
    assert records(tmp_path) == []


def test_an_existing_sitecustomize_still_runs_first(tmp_path):
    write(
        tmp_path,
        "site_dir/sitecustomize.py",
        """
        import os
        os.environ["FROM_USER_SITECUSTOMIZE"] = "yes"
        os.environ["LLM_MONITOR_SERVICE_NAME"] = "set-by-sitecustomize"
        """,
    )
    write(
        tmp_path,
        "app.py",
        APP.replace(
            'if __name__ == "__main__":',
            'import os, sitecustomize\nprint(os.environ["FROM_USER_SITECUSTOMIZE"], sitecustomize.__file__)\n'
            'if __name__ == "__main__":',
        ),
    )
    env = base_env(tmp_path, PYTHONPATH=str(tmp_path / "site_dir"))
    result = run(["python", "app.py", "x"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"yes {tmp_path / 'site_dir' / 'sitecustomize.py'}"
    (call,) = calls(tmp_path)
    assert call["service_name"] == "set-by-sitecustomize"  # it ran before instrument() read the environment


def test_a_failing_sitecustomize_is_reported_as_python_would_and_monitoring_still_works(tmp_path):
    write(tmp_path, "site_dir/sitecustomize.py", "raise RuntimeError('user hook broke')\n")
    write(tmp_path, "app.py", APP)
    env = base_env(tmp_path, PYTHONPATH=str(tmp_path / "site_dir"))
    plain = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    result = run(["python", "app.py", "x"], tmp_path, env=env)
    assert result.returncode == plain.returncode == 0
    assert "Error in sitecustomize" in plain.stderr and "user hook broke" in plain.stderr
    # The program reports it exactly as it does alone; `llm-monitor` (a Python program too) ran the same
    # hook once before the exec, hence the same lines once more in front.
    assert result.stderr == plain.stderr * 2
    assert len(calls(tmp_path)) == 1


def test_a_bad_setting_is_reported_once_and_the_program_runs_unmonitored(tmp_path):
    write(tmp_path, "lib_app.py", APP)
    write(
        tmp_path,
        "app.py",
        """
        import subprocess, sys
        import lib_app
        lib_app.main(["x"])
        subprocess.run([sys.executable, "-c", "print('child ok')"], check=True)
        sys.exit(5)
        """,
    )
    env = base_env(tmp_path, LLM_MONITOR_SAMPLE_RATE="lots")
    result = run(["python", "app.py"], tmp_path, env=env)
    assert result.returncode == 5
    assert result.stdout == "got reply\nchild ok\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "LLM_MONITOR_SAMPLE_RATE" in lines[0] and "lots" in lines[0]
    assert records(tmp_path) == []


def test_an_interpreter_that_cannot_import_the_sdk_runs_normally(tmp_path):
    # Stands in for a subprocess of another interpreter: a llm_monitor_sdk that fails to import.
    write(
        tmp_path, "shadow/llm_monitor_sdk/__init__.py", "raise ImportError('broken llm_monitor_sdk here')\n"
    )
    write(tmp_path, "app.py", "import openai\nprint('still runs')\n")
    env = base_env(tmp_path, PYTHONPATH=os.pathsep.join([BOOTSTRAP_DIR, str(tmp_path / "shadow")]))
    env["LLM_MONITOR_RUN_PID"] = "0"  # a subprocess, not the program the runner started: stays quiet
    quiet = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "still runs\n", "")
    env["LLM_MONITOR_BOOTSTRAP_DEBUG"] = "1"
    loud = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert loud.returncode == 0 and loud.stdout == "still runs\n"
    assert "cannot import llm_monitor_sdk" in loud.stderr and "broken llm_monitor_sdk here" in loud.stderr


def test_command_not_found_and_no_command(tmp_path):
    missing = run(["definitely-not-a-command-xyz"], tmp_path)
    assert missing.returncode == 127 and "command not found: definitely-not-a-command-xyz" in missing.stderr
    empty = run([], tmp_path)
    assert empty.returncode == 2 and "no command given" in empty.stderr
    not_executable = write(tmp_path, "plain.txt", "hello")
    denied = run([str(not_executable)], tmp_path)
    assert denied.returncode == 126 and "cannot execute" in denied.stderr


def test_child_environment():
    env = child_environment({"PYTHONPATH": f"/a{os.pathsep}{BOOTSTRAP_DIR}{os.pathsep}/b"}, pid=4242)
    assert env["PYTHONPATH"].split(os.pathsep) == [BOOTSTRAP_DIR, "/a", "/b"]  # first, once (nested runs)
    assert env["LLM_MONITOR_RUN_PID"] == "4242"
    assert child_environment({}, pid=1)["PYTHONPATH"] == BOOTSTRAP_DIR
    assert child_environment({"LLM_MONITOR_DISABLED": "TRUE", "X": "1"}) == {
        "LLM_MONITOR_DISABLED": "TRUE",
        "X": "1",
    }


def test_the_bootstrap_folder_holds_only_the_hook():
    # The whole folder is on sys.path while site runs: nothing else in it may shadow a module.
    names = {p.name for p in Path(BOOTSTRAP_DIR).iterdir() if p.name != "__pycache__"}
    assert names == {"__init__.py", "sitecustomize.py"}


def test_run_main_is_the_same_command_without_the_full_parser(tmp_path, monkeypatch):
    from llm_monitor_sdk.cli import run as run_module

    seen = []
    monkeypatch.setattr(run_module, "execute", lambda command, env: seen.append((command, env)) or 0)
    assert run_module.run_main(["--", "python", "-m", "x"]) == 0
    assert run_module.run_main(["python", "-c", "pass"]) == 0
    assert [command for command, _ in seen] == [["python", "-m", "x"], ["python", "-c", "pass"]]
    assert all(env["PYTHONPATH"].split(os.pathsep)[0] == BOOTSTRAP_DIR for _, env in seen)
    assert run_module.run_main([]) == 2
    with pytest.raises(SystemExit) as exit_info:
        run_module.run_main(["--help"])
    assert exit_info.value.code == 0
