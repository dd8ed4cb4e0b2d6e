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
    }
}

#[test]
fn fresh_namespace_per_run_and_survives_hangs_and_crashes() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("u.py");
    std::fs::write(
        &f,
        "import os, sys, time\nCOUNT = []\n\n@fused.udf\ndef udf(how: str = 'count'):\n    COUNT.append(1)\n    if how == 'hang':\n        time.sleep(60)\n    if how == 'die':\n        os._exit(7)\n    if how == 'flood':\n        sys.stdout.write('y' * (4 << 20))\n    print('ran', len(COUNT))\n    return len(COUNT)\n",
    )
    .unwrap();
    let opts = RunOptions {
        python: "python3".into(),
        timeout: Duration::from_secs(2),
        output_cap: 1 << 20,
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
}
