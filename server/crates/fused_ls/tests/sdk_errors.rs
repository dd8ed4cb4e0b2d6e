//! Errors mean the SDK fails. Every error-level rule names, in `fused_core::sdk_evidence`, a
//! fixture and what fused 2.9.5 raises on it; this suite loads and runs each fixture in the
//! real SDK (the cached venv of tests/sdk/setup.sh) and checks that it fails that way, and
//! that `fused-ls check` reports the rule on the same fixture. A new error rule without
//! evidence fails `every_error_rule_has_evidence`.

mod common;
use common::*;
use fused_core::sdk_evidence::{evidence, Case, Evidence, Stage};
use fused_core::{Rule, Severity};
use serde_json::Value;
use std::collections::HashMap;

#[test]
fn every_error_rule_has_evidence() {
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .filter(|r| r.severity() == Severity::Error && evidence(**r).is_none())
        .map(|r| r.code())
        .collect();
    assert!(
        missing.is_empty(),
        "error-level rules without SDK evidence (add them to fused_core::sdk_evidence): {missing:?}"
    );
}

fn cases() -> Vec<(Rule, Case)> {
    Rule::ALL
        .iter()
        .filter_map(|r| match evidence(*r)? {
            Evidence::Measured(cs) => Some(cs.iter().map(move |c| (*r, *c))),
            Evidence::NotOffline(_) => None,
        })
        .flatten()
        .collect()
}

/// Runs tests/sdk/sdk_outcome.py on `cases` in one SDK process: path → outcome.
fn sdk_outcomes(python: &str, cases: &[Case]) -> HashMap<String, Value> {
    let root = repo_root();
    let args: Vec<String> = cases
        .iter()
        .map(|c| {
            let p = root.join(c.fixture).to_string_lossy().into_owned();
            if c.tile {
                format!("{p}@tile")
            } else {
                p
            }
        })
        .collect();
    let out = std::process::Command::new(python)
        .arg(root.join("tests/sdk/sdk_outcome.py"))
        .args(&args)
        .current_dir(&root)
        .output()
        .expect("the SDK's python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let outcomes: HashMap<String, Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("OUTCOME "))
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["path"].as_str().unwrap().to_string(), v)
        })
        .collect();
    assert_eq!(
        outcomes.len(),
        cases.len(),
        "the SDK driver did not report every package: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    outcomes
}

#[test]
fn each_error_fixture_fails_in_fused_2_9_5_as_documented() {
    let python = sdk_python();
    let all = cases();
    assert!(all.len() >= 20, "too few cases: {}", all.len());
    // The slow ones (the SDK waits ~30 s for a login) each get their own process, in parallel
    // with the rest.
    let (slow, fast): (Vec<_>, Vec<_>) = all.iter().partition(|(_, c)| c.slow);
    let mut outcomes = std::thread::scope(|s| {
        let slow_handles: Vec<_> = slow
            .iter()
            .map(|(_, c)| {
                let python = &python;
                s.spawn(move || sdk_outcomes(python, &[*c]))
            })
            .collect();
        let fast_cases: Vec<Case> = fast.iter().map(|(_, c)| *c).collect();
        let mut m = sdk_outcomes(&python, &fast_cases);
        for h in slow_handles {
            m.extend(h.join().unwrap());
        }
        m
    });

    let mut failures = Vec::new();
    for (rule, case) in &all {
        let key = repo_root()
            .join(case.fixture)
            .to_string_lossy()
            .into_owned();
        let o = outcomes.remove(&key).unwrap();
        let stage = o["stage"].as_str().unwrap();
        let raised = format!(
            "{}: {}",
            o["class"].as_str().unwrap_or(""),
            o["message"].as_str().unwrap_or("")
        );
        let want_stage = match case.stage {
            Stage::Load => "load",
            Stage::Run => "run",
        };
        if stage != want_stage || !raised.contains(case.raises) {
            failures.push(format!(
                "{} on {}: expected to fail at {want_stage} with `{}`; the SDK: stage {stage}, `{raised}`",
                rule.code(),
                case.fixture,
                case.raises
            ));
        }
        // And fused-ls reports that rule there.
        let check = run(
            &repo_root(),
            &[
                "check",
                "--format",
                "json",
                case.fixture,
                "--select",
                rule.code(),
            ],
        );
        if !codes(&check).iter().any(|c| c == rule.code()) {
            failures.push(format!(
                "{}: `fused-ls check {}` does not report it",
                rule.code(),
                case.fixture
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
