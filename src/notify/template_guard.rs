//! What a template body may use. minijinja's fuel counts instructions, not bytes: one
//! `"x" * 100000000`, a `{% set %}` doubled a few times, or nested `replace`/`indent`
//! builds gigabytes before any output limit is checked, and a template is validated on
//! every pass. So the language is cut to what a request body needs: output, `if`, `for`
//! over what the payload holds, comparisons and tests, and filters that never grow a
//! value beyond the payload's size. Everything else is refused, naming the token. With
//! that, output grows at most by one payload-sized value per instruction, and the
//! bounded writer in `template` stops it at the body limit.

/// Statements a body may use.
const STATEMENTS: &[&str] = &["if", "elif", "else", "endif", "for", "endfor"];

/// Filters that return at most what they are given (or a fixed-size value).
const FILTERS: &[&str] = &[
    "tojson",
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "length",
    "count",
    "first",
    "last",
    "urlencode",
    "join",
    "escape",
    "e",
    "string",
    "int",
    "float",
    "abs",
    "round",
    "list",
    "items",
    "dictsort",
    "reverse",
    "sort",
    "unique",
    "truncate",
];

/// Methods callable on payload values (dict views).
const METHODS: &[&str] = &["items", "keys", "values"];

/// Operators that build values (repetition, concatenation, formatting).
const GROWING: &[char] = &['*', '~', '+', '%'];

/// The first thing the body uses that a template may not, as a message.
pub fn refused(source: &str) -> Option<String> {
    let mut rest = source;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let (close, statement) = match after.chars().next() {
            Some('{') => ("}}", false),
            Some('%') => ("%}", true),
            Some('#') => {
                rest = after.find("#}").map_or("", |end| &after[end + 2..]);
                continue;
            }
            _ => {
                rest = after;
                continue;
            }
        };
        let inner = &after[1..];
        let Some(end) = inner.find(close) else {
            return None; // unterminated: minijinja's own syntax error names it
        };
        if let Some(why) = check_block(&inner[..end], statement) {
            return Some(why);
        }
        rest = &inner[end + 2..];
    }
    None
}

fn check_block(block: &str, statement: bool) -> Option<String> {
    let block = block.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
    let tokens = tokens(block)?;
    if statement {
        let first = tokens.first().map_or("", |t| t.text.as_str());
        if !STATEMENTS.contains(&first) {
            return Some(format!(
                "`{{% {first} %}}` is not allowed in a body (only if/elif/else/for)"
            ));
        }
    }
    for (i, t) in tokens.iter().enumerate() {
        if t.kind == Kind::Other {
            if let Some(c) = t.text.chars().find(|c| GROWING.contains(c)) {
                return Some(format!("the operator `{c}` is not allowed in a body"));
            }
            continue;
        }
        if t.kind != Kind::Name {
            continue;
        }
        let before = i.checked_sub(1).and_then(|j| tokens.get(j));
        let after = tokens.get(i + 1).map(|t| t.text.as_str());
        let after_pipe = before.is_some_and(|b| b.text == "|");
        let after_dot = before.is_some_and(|b| b.text == ".");
        if after_pipe && !FILTERS.contains(&t.text.as_str()) {
            return Some(format!("the filter `{}` is not allowed in a body", t.text));
        }
        if after == Some("(") && !after_pipe {
            let method = after_dot && METHODS.contains(&t.text.as_str());
            if !method {
                return Some(format!("calling `{}` is not allowed in a body", t.text));
            }
        }
    }
    None
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Name,
    Literal,
    Other,
}

struct Token {
    kind: Kind,
    text: String,
}

/// Names, literals (strings, numbers) and punctuation; `None` on an unterminated string
/// (left to minijinja's parser to report).
fn tokens(block: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = block.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == '\\' {
                    chars.next();
                } else if d == c {
                    closed = true;
                    break;
                }
            }
            if !closed {
                return None;
            }
            out.push(Token {
                kind: Kind::Literal,
                text: String::new(),
            });
        } else if c.is_alphanumeric() || c == '_' {
            let mut text = String::new();
            while let Some(&d) = chars.peek() {
                if !(d.is_alphanumeric() || d == '_') {
                    break;
                }
                text.push(d);
                chars.next();
            }
            let kind = if text.starts_with(|d: char| d.is_ascii_digit()) {
                Kind::Literal
            } else {
                Kind::Name
            };
            out.push(Token { kind, text });
        } else {
            chars.next();
            out.push(Token {
                kind: Kind::Other,
                text: c.to_string(),
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::refused;

    #[test]
    fn what_a_body_needs_is_allowed() {
        for ok in [
            r#"{"text": {{ title | tojson }}}"#,
            "{% for a in alerts %}{{ a.labels.alertname | upper }}{% if not loop.last %},{% endif %}{% endfor %}",
            "{%- if status == \"firing\" -%}FIRING{%- else -%}ok{%- endif -%}",
            "{% for k, v in commonLabels.items() %}{{ k }}={{ v | urlencode }}&{% endfor %}",
            "{{ alerts | length }} {{ externalURL | default(\"none\") }} {# a * comment #}",
            "text with { braces } and 100% literal",
            "{{ a is defined and b != 'x*y' }}",
        ] {
            assert_eq!(refused(ok), None, "{ok}");
        }
    }

    #[test]
    fn value_building_is_refused_naming_the_token() {
        for (bad, why) in [
            (r#"{{ "x" * 100000000 }}"#, "operator `*`"),
            ("{% set a = title %}{{ a ~ a }}", "`{% set %}`"),
            ("{{ title ~ title }}", "operator `~`"),
            ("{{ title + title }}", "operator `+`"),
            ("{{ title | replace('a', title) }}", "filter `replace`"),
            ("{{ title | indent(100000000) }}", "filter `indent`"),
            (
                "{% for i in range(100000) %}x{% endfor %}",
                "calling `range`",
            ),
            ("{{ namespace(a=1) }}", "calling `namespace`"),
            ("{% macro m() %}{% endmacro %}", "`{% macro %}`"),
            ("{% raw %}{{ x }}{% endraw %}", "`{% raw %}`"),
            ("{{ '%s' % title }}", "operator `%`"),
        ] {
            let message = refused(bad).unwrap_or_else(|| panic!("{bad} was allowed"));
            assert!(message.contains(why), "{bad}: {message}");
        }
    }
}
