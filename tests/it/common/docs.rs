//! Reading the repository's Markdown documents: their fenced code blocks and
//! the shell commands in them (for the tests that run what a page tells its
//! readers to run), and their links and headings (so no link or anchor points
//! at something gone).

/// One fenced block: its info string (`sh` in "```sh"), the nearest heading
/// above it, the `<!-- test: MARK -->` comment right before it (if any), and
/// its text.
#[derive(Debug, Clone)]
pub struct Block {
    pub info: String,
    pub heading: String,
    pub mark: Option<String>,
    pub text: String,
    /// The line of the opening fence, 1-based (for messages).
    pub line: usize,
}

/// Every fenced block of `markdown`, in order.
pub fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut previous = "";
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let mark = previous
                .trim()
                .strip_prefix("<!-- test:")
                .and_then(|m| m.strip_suffix("-->"))
                .map(|m| m.trim().to_owned());
            let mut text = String::new();
            for (_, inner) in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            blocks.push(Block {
                info: info.trim().to_owned(),
                heading: heading.clone(),
                mark,
                text,
                line: n + 1,
            });
            previous = "";
            continue;
        }
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_owned();
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

/// The commands of a shell block, one string each: a command goes on over
/// lines ending in `\`, `|`, `&&` or `||`, and while a quote, `(` or `$(` is
/// open. Blank lines and comment lines between commands are skipped.
pub fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        let open = ["\\", "|", "&&", "||"]
            .iter()
            .any(|end| trimmed.ends_with(end));
        if !open && balanced(&current) {
            out.push(current.trim_end().to_owned());
            current.clear();
        }
    }
    assert!(current.is_empty(), "an unfinished command: {current}");
    out
}

/// Whether every quote, `(` and `$(` in `text` is closed (shell rules, enough
/// for documentation: single quotes, double quotes, backslash escapes).
fn balanced(text: &str) -> bool {
    #[derive(PartialEq)]
    enum Open {
        Paren,
        Double,
    }
    let mut stack = Vec::new();
    let mut chars = text.chars().peekable();
    let mut single = false;
    while let Some(c) = chars.next() {
        if single {
            single = c != '\'';
            continue;
        }
        let in_double = stack.last() == Some(&Open::Double);
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if !in_double => single = true,
            '"' if in_double => {
                stack.pop();
            }
            '"' => stack.push(Open::Double),
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                stack.push(Open::Paren);
            }
            '(' if !in_double => stack.push(Open::Paren),
            ')' if !in_double => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.is_empty() && !single
}

/// The targets of the inline links (`[text](target)`) of `markdown`, outside
/// code blocks and code spans.
pub fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Outside code spans: the even pieces between backticks.
        for text in line.split('`').step_by(2) {
            let mut rest = text;
            while let Some(at) = rest.find("](") {
                let after = &rest[at + 2..];
                let Some(end) = after.find(')') else { break };
                out.push(after[..end].to_owned());
                rest = &after[end..];
            }
        }
    }
    out
}

/// The anchors GitHub gives the headings of `markdown`: lower case, spaces
/// as `-`, punctuation other than `-` and `_` dropped, `-1`, `-2`... added to
/// repeats.
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let slug: String = line
            .trim_start_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let repeats = seen.entry(slug.clone()).or_insert(0);
        out.push(match *repeats {
            0 => slug,
            n => format!("{slug}-{n}"),
        });
        *repeats += 1;
    }
    out
}

/// The reader, on small documents: what the page tests and the link check
/// rely on.
mod tests {
    use super::*;

    /// The anchors and links the check above relies on, as GitHub makes them.
    #[test]
    fn document_anchors_and_links_are_read_as_github_does() {
        let page = "# Top\n## Updating (`--merge`)\n```sh\n# not a heading [x](in-code.md)\n```\n\
                    ## 9. The cluster's secret: two\n## Top\nSee [a](b.md#c) and `[d](e.md)`.\n";
        assert_eq!(
            anchors(page),
            [
                "top",
                "updating---merge",
                "9-the-clusters-secret-two",
                "top-1"
            ]
        );
        assert_eq!(links(page), ["b.md#c"]);
    }

    #[test]
    fn commands_follow_continuations_quotes_and_substitutions() {
        let block = "# a comment\none --flag\n\ntwo \\\n  --more | three\nfour |\n  five\n\
                     six -p \"$(\n  seven 'a \"(' \\\n    | eight)\"\n(umask 077; nine \\\n  > f)\n";
        assert_eq!(
            commands(block),
            [
                "one --flag",
                "two \\\n  --more | three",
                "four |\n  five",
                "six -p \"$(\n  seven 'a \"(' \\\n    | eight)\"",
                "(umask 077; nine \\\n  > f)",
            ]
        );
    }

    #[test]
    fn blocks_carry_their_heading_info_and_mark() {
        let page = "# Top\n\n## One\n\n```sh\na\n```\n\n<!-- test: fails -->\n```sh\nb\n```\n\n\
                    ### Two\n```shell\nc\n```\n";
        let blocks = fenced_blocks(page);
        let got: Vec<_> = blocks
            .iter()
            .map(|b| {
                (
                    b.info.as_str(),
                    b.heading.as_str(),
                    b.mark.as_deref(),
                    b.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("sh", "One", None, "a\n"),
                ("sh", "One", Some("fails"), "b\n"),
                ("shell", "Two", None, "c\n"),
            ]
        );
    }
}
