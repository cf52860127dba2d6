//! Kubernetes `$(VAR)` expansion in env values, command and args (the rules of
//! k8s.io/kubernetes/third_party/forked/golang/expansion): `$$` escapes, unknown names
//! stay verbatim.

pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(') {
            match tail.find(')') {
                Some(end) => {
                    let name = &tail[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &tail[end + 1..];
                }
                None => {
                    out.push_str(&rest[pos..]);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        (name == "A").then(|| "1".to_string())
    }

    #[test]
    fn expands_known_keeps_unknown_and_escapes() {
        assert_eq!(expand("x$(A)y", env), "x1y");
        assert_eq!(expand("$(B)", env), "$(B)");
        assert_eq!(expand("$$(A)", env), "$(A)");
        assert_eq!(expand("$HOME $(A", env), "$HOME $(A");
        assert_eq!(expand("cost: 5$", env), "cost: 5$");
    }
}
