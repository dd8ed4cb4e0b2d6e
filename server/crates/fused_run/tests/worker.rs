//! The warm worker: runs are forked from one interpreter, yet each gets a fresh namespace, and a
//! run that hangs or dies takes only itself down.

use fused_run::{Mode, RunOptions, RunRequest, Worker};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn request(file: &Path, params: &[(&str, &str)]) -> RunRequest {
    RunRequest {
        source_path: file.to_path_buf(),
        entrypoint: None,
        package_dir: file.parent().map(Path::to_path_buf),
        headers: vec![],
        mode: Mode::File,
        bounds: None,
        tile: None,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        output_path: None,
        features_path: None,
    }
}

/// The interpreter of the cached SDK venv (fused 2.9.5, geopandas, numpy), made once by
/// tests/sdk/setup.sh.
fn sdk_python() -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/sdk/setup.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .output()
        .expect("setup runs");
    assert!(
        out.status.success(),
        "SDK venv setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().into()
}

/// A warm worker on the SDK venv's interpreter and the options of its runs.
fn sdk_worker() -> (Worker, RunOptions) {
    let python = sdk_python();
    let opts = RunOptions {
        python: python.clone(),
        timeout: Duration::from_secs(60),
        output_cap: 1 << 20,
        memory_limit: None,
        reuse: None,
    };
    let w = Worker::start(&python, Duration::from_secs(120)).expect("worker starts");
    (w, opts)
}

/// Each run is forked from the same worker, yet draws new random numbers, as a new process
/// would: a UDF sampling points must not get the same sample on every warm run. (The stdlib's
/// `random` reseeds itself after a fork; numpy, imported by the worker, does not.)
#[test]
fn every_run_draws_new_random_numbers() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("u.py");
    std::fs::write(
        &f,
        "import random\nimport numpy as np\n\n@fused.udf\ndef udf():\n    return [random.random(), float(np.random.random())]\n",
    )
    .unwrap();
    let (mut w, opts) = sdk_worker();
    let no = AtomicBool::new(false);
    let draws: Vec<Vec<f64>> = (0..3)
        .map(|_| {
            let r = w.run(&request(&f, &[]), &opts, &no).unwrap();
            let v = r["result"]["value"].as_array().cloned().unwrap_or_default();
            v.iter().filter_map(|x| x.as_f64()).collect()
        })
        .collect();
    assert!(draws.iter().all(|d| d.len() == 2), "{draws:?}");
    for k in 0..2 {
        assert!(
            draws[0][k] != draws[1][k] && draws[1][k] != draws[2][k],
            "{}: the same numbers on every warm run: {draws:?}",
            ["random", "numpy.random"][k]
        );
    }
}

#[test]
fn fresh_namespace_per_run_and_survives_hangs_and_crashes() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("u.py");
    std::fs::write(
        &f,
        "import os, sys, time\nCOUNT = []\n\n@fused.udf\ndef udf(how: str = 'count'):\n    COUNT.append(1)\n    if how == 'hang':\n        time.sleep(60)\n    if how == 'die':\n        os._exit(7)\n    if how == 'flood':\n        sys.stdout.write('y' * (4 << 20))\n    if how == 'session':\n        return [os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid()]\n    if how == 'spawn':\n        import subprocess\n        p = subprocess.Popen(['sleep', '60'])\n        open('grandchild.pid', 'w').write(str(p.pid))\n        time.sleep(60)\n    print('ran', len(COUNT))\n    return len(COUNT)\n",
    )
    .unwrap();
    let opts = RunOptions {
        python: "python3".into(),
        timeout: Duration::from_secs(2),
        output_cap: 1 << 20,
        memory_limit: None,
        reuse: None,
    };
    let mut w =
        Worker::start(Path::new("python3"), Duration::from_secs(60)).expect("worker starts");
    let no = AtomicBool::new(false);
    for _ in 0..3 {
        let r = w.run(&request(&f, &[]), &opts, &no).unwrap();
        assert_eq!(
            r["result"]["value"], 1,
            "module state from a previous run leaked: {r}"
        );
        assert!(r["stdout"].as_str().unwrap().contains("ran 1"));
    }
    let r = w.run(&request(&f, &[("how", "hang")]), &opts, &no).unwrap();
    assert_eq!(r["error"]["class"], "Timeout");
    let r = w.run(&request(&f, &[("how", "die")]), &opts, &no).unwrap();
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 7"),
        "{r}"
    );
    let r = w
        .run(&request(&f, &[("how", "flood")]), &opts, &no)
        .unwrap();
    assert!(r["stdout"].as_str().unwrap().contains("output truncated"));
    assert!(w.alive());
    let r = w.run(&request(&f, &[]), &opts, &no).unwrap();
    assert_eq!(r["result"]["value"], 1);
    let cancelled = AtomicBool::new(true);
    let r = w
        .run(&request(&f, &[("how", "hang")]), &opts, &cancelled)
        .unwrap();
    assert_eq!(r["error"]["class"], "Cancelled");
    // The child waiting for the next job is fresh too, and the run is in its own session.
    let r = w.run(&request(&f, &[]), &opts, &no).unwrap();
    assert_eq!(r["result"]["value"], 1, "{r}");
    let r = w
        .run(&request(&f, &[("how", "session")]), &opts, &no)
        .unwrap();
    assert_eq!(r["result"]["value"], serde_json::json!([true, true]), "{r}");
    // A timeout kills what the run started, not just the run.
    let r = w
        .run(&request(&f, &[("how", "spawn")]), &opts, &no)
        .unwrap();
    assert_eq!(r["error"]["class"], "Timeout");
    let pid: u32 = std::fs::read_to_string(t.path().join("grandchild.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(gone(pid), "the run's grandchild {pid} outlived the timeout");
    let r = w.run(&request(&f, &[]), &opts, &no).unwrap();
    assert_eq!(r["result"]["value"], 1, "{r}");
}

/// True when `pid` ends (or is a zombie) within 5 s.
fn gone(pid: u32) -> bool {
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s)
                if s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z') =>
            {
                return true
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    false
}

/// Every process whose command line is `cmdline`.
fn processes_like(cmdline: &[u8]) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .as_deref()
                == Some(cmdline)
        })
        .collect()
}

#[test]
fn the_child_waiting_for_a_job_ends_with_the_worker() {
    let mut w =
        Worker::start(Path::new("python3"), Duration::from_secs(60)).expect("worker starts");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", w.pid())).unwrap();
    let family = processes_like(&cmdline);
    assert!(
        family.len() >= 2,
        "the worker and its waiting child: {family:?}"
    );
    w.stop();
    for pid in family {
        assert!(gone(pid), "{pid} outlived its worker");
    }
}

/// The worker itself dies during a run: the run's child (in its own session, so not taken down
/// with the worker) is killed too, since the caller retries the run elsewhere.
#[test]
fn a_run_does_not_outlive_its_worker() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("u.py");
    let pid_file = t.path().join("child.pid");
    std::fs::write(
        &f,
        format!(
            "import os, time\n\n@fused.udf\ndef udf():\n    open({:?}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n",
            pid_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let opts = RunOptions {
        python: "python3".into(),
        timeout: Duration::from_secs(60),
        output_cap: 1 << 20,
        memory_limit: None,
        reuse: None,
    };
    let mut w =
        Worker::start(Path::new("python3"), Duration::from_secs(60)).expect("worker starts");
    let worker_pid = w.pid();
    let run = std::thread::spawn(move || {
        let no = AtomicBool::new(false);
        w.run(&request(&f, &[]), &opts, &no)
    });
    let started = std::time::Instant::now();
    let child: i32 = loop {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Command::new("kill")
        .args(["-9", &worker_pid.to_string()])
        .status()
        .unwrap();
    let result = run.join().unwrap();
    assert!(result.is_err(), "{result:?}");
    let gone = || {
        std::fs::read_to_string(format!("/proc/{child}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
    };
    let started = std::time::Instant::now();
    while !gone() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the run's child {child} outlived its worker"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A UDF that double-forks a daemon (fork, setsid, fork) and returns: the warm run ends when the
/// UDF's process does, and the daemon (reparented to the worker, a subreaper) is killed.
#[test]
fn a_double_forked_daemon_ends_with_its_warm_run() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("daemon.py");
    let pid_file = t.path().join("daemon.pid");
    std::fs::write(
        &f,
        "import os, time\n\n@fused.udf\ndef udf(pid_file: str):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            open(pid_file, 'w').write(str(os.getpid()))\n            time.sleep(1000)\n        os._exit(0)\n    while not os.path.exists(pid_file):\n        time.sleep(0.01)\n    return 'done'\n",
    )
    .unwrap();
    let opts = RunOptions {
        python: "python3".into(),
        timeout: Duration::from_secs(20),
        output_cap: 1 << 20,
        memory_limit: None,
        reuse: None,
    };
    let mut w =
        Worker::start(Path::new("python3"), Duration::from_secs(60)).expect("worker starts");
    // (Waiting for the daemon's end of the output would run into the timeout.)
    let started = std::time::Instant::now();
    let r = w
        .run(
            &request(&f, &[("pid_file", pid_file.to_str().unwrap())]),
            &opts,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r["result"]["value"], "done", "{r}");
    assert!(
        r["stderr"]
            .as_str()
            .unwrap()
            .contains("stopped 1 process the UDF left running"),
        "{r}"
    );
    let daemon: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(daemon), "the daemon {daemon} outlived its run");
    // The worker goes on.
    let again = w
        .run(
            &request(
                &f,
                &[("pid_file", t.path().join("2.pid").to_str().unwrap())],
            ),
            &opts,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(again["result"]["value"], "done", "{again}");
}

/// A raster run on the warm worker (what `serve` uses) carries its PNG as a `fused-ls run` does:
/// the runner's pixels are read from the run's own folder before it is removed.
#[test]
fn a_warm_run_returns_a_raster_png() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("r.py");
    std::fs::write(
        &f,
        "import numpy as np\n\n@fused.udf\ndef udf(bounds=None):\n    return np.arange(6, dtype=np.uint8).reshape(2, 3) * 50\n",
    )
    .unwrap();
    let (mut w, opts) = sdk_worker();
    let no = AtomicBool::new(false);
    let tile = fused_core::tile::Tile::parse("13/2411/3079").unwrap();
    let mut req = request(&f, &[]);
    req.mode = Mode::Tile;
    req.tile = Some(tile);
    req.bounds = Some(tile.bounds());
    for _ in 0..2 {
        let r = w.run(&req, &opts, &no).unwrap();
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["result"]["raster"]["bounds_from"], "tile");
        let png = fused_run::raster::png_from_result(&r).expect("a PNG");
        let mut dec = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut buf = vec![0; dec.output_buffer_size().unwrap()];
        let info = dec.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        let gray: Vec<u8> = buf[..info.buffer_size()].chunks(4).map(|p| p[0]).collect();
        assert_eq!(gray, [0, 50, 100, 150, 200, 250]);
    }
}

/// Runs with the same `reuse` key follow each other in one child (no fork, no fresh process),
/// each still with a fresh UDF namespace and its own output; another key, no key, or a run that
/// leaves a thread or a process behind, or that was stopped, gets a fresh child.
#[test]
fn runs_with_one_reuse_key_share_a_child_and_nothing_else() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("u.py");
    std::fs::write(
        &f,
        "import os, sys, threading, time, subprocess\nCOUNT = []\n\n@fused.udf\ndef udf(how: str = 'pid'):\n    COUNT.append(1)\n    if how == 'thread':\n        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n    if how == 'spawn':\n        p = subprocess.Popen(['sleep', '30'])\n        open('left.pid', 'w').write(str(p.pid))\n    if how == 'hang':\n        time.sleep(60)\n    print('ran', len(COUNT))\n    return [os.getpid(), len(COUNT), sys.path.count(os.getcwd())]\n",
    )
    .unwrap();
    let opts = |reuse: Option<&str>| RunOptions {
        python: "python3".into(),
        timeout: Duration::from_secs(2),
        output_cap: 1 << 20,
        memory_limit: None,
        reuse: reuse.map(str::to_string),
    };
    let mut w =
        Worker::start(Path::new("python3"), Duration::from_secs(60)).expect("worker starts");
    let no = AtomicBool::new(false);
    let mut run = |how: &str, reuse: Option<&str>| {
        let r = w
            .run(&request(&f, &[("how", how)]), &opts(reuse), &no)
            .unwrap();
        if how == "pid" {
            let v = &r["result"]["value"];
            assert_eq!(v[1], 1, "module state leaked into a later run: {r}");
            assert_eq!(v[2], 1, "the package folder piled up on sys.path: {r}");
            assert_eq!(r["stdout"].as_str().unwrap().trim(), "ran 1", "{r}");
        }
        (r["result"]["value"][0].as_u64(), r)
    };
    let a1 = run("pid", Some("a")).0.unwrap();
    assert_eq!(run("pid", Some("a")).0, Some(a1), "same key: same child");
    assert_eq!(run("pid", Some("a")).0, Some(a1));
    let b = run("pid", Some("b")).0.unwrap();
    assert_ne!(b, a1, "another package's run shared a child");
    let a2 = run("pid", Some("a")).0.unwrap();
    assert!(a2 != a1 && a2 != b, "a retired child came back");
    let fresh1 = run("pid", None).0.unwrap();
    let fresh2 = run("pid", None).0.unwrap();
    assert!(
        fresh1 != a2 && fresh1 != fresh2,
        "runs without a key shared a child"
    );

    let c = run("thread", Some("c")).0.unwrap();
    assert_ne!(
        run("pid", Some("c")).0,
        Some(c),
        "a run that left a thread was followed"
    );
    let d = run("spawn", Some("d")).0.unwrap();
    assert_ne!(
        run("pid", Some("d")).0,
        Some(d),
        "a run that left a process was followed"
    );
    let left: u32 = std::fs::read_to_string(t.path().join("left.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(gone(left), "the process the run left ({left}) outlived it");

    let e = run("pid", Some("e")).0.unwrap();
    let (_, r) = run("hang", Some("e"));
    assert_eq!(r["error"]["class"], "Timeout", "{r}");
    assert!(gone(e as u32), "the stopped child {e} lives on");
    let e2 = run("pid", Some("e")).0.unwrap();
    assert_ne!(e2, e);
    assert_eq!(run("pid", Some("e")).0, Some(e2));
    drop(w);
    assert!(gone(e2 as u32), "a kept child outlived its worker");
}
