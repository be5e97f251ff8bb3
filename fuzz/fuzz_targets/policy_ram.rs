//! RAM policy JSON as oss-local reads it (`oss_direct_wire::policy`): any document either is refused
//! with a reason or parses; a parsed policy evaluates any action/resource/context without a
//! panic; an explicit Deny is never an Allow; `wildcard_match` on arbitrary patterns
//! terminates and agrees with the trivial cases (`*` and `prefix*` match).
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct_wire::policy::{allowed_by_all_in, wildcard_match, Context, Decision, Policy};

fuzz_target!(|input: (&str, &str, &str, Vec<(String, String)>)| {
    let (doc, action, resource, ctx_pairs) = input;
    let mut ctx = Context::default();
    for (k, v) in &ctx_pairs {
        ctx = ctx.with(k, v.clone());
    }
    match Policy::parse(doc) {
        Ok(p) => {
            let d = p.evaluate_in(action, resource, &ctx);
            let _ = p.evaluate(action, resource);
            let both = allowed_by_all_in(&[&p, &p], action, resource, &ctx);
            assert_eq!(both, d == Decision::Allow, "p AND p is p");
        }
        Err(why) => assert!(!why.is_empty()),
    }
    // The matcher on its own: a text matches itself when it has no wildcard; `*` matches all.
    if !action.contains(['*', '?']) {
        assert!(wildcard_match(action, action));
    }
    // fuzz/regressions/policy_ram: a literal `*` in the text used to be taken as a character by
    // the pattern's `*`, so `*` did not match `*x` and a Deny could be escaped (fixed in 2e8c55d).
    assert!(
        wildcard_match("*", resource),
        "`*` matches everything: {resource:?}"
    );
    // Any prefix of a text followed by `*` matches it (wildcards in the prefix match themselves).
    let half = resource
        .char_indices()
        .nth(resource.chars().count() / 2)
        .map_or(resource.len(), |(i, _)| i);
    let pattern = format!("{}*", &resource[..half]);
    assert!(
        wildcard_match(&pattern, resource),
        "{pattern:?} vs {resource:?}"
    );
    let _ = wildcard_match(action, resource);
});
