//! URLs as messages show them: the one formatter every URL from a server, a
//! realm, a redirect or the environment goes through before it reaches an
//! error, a note, a `check` row or a debug line. A token URL carries
//! `account=USERNAME` and whatever else the realm put in its query, and a
//! `Location` may carry `user:password@`: neither is shown.

/// `url` with only its scheme, host, port and path: the query (`?...`), the
/// fragment (`#...`) and any user information (`user:pass@`) are dropped.
///
/// Conservative on malformed input: everything up to the last `@` before the
/// query is taken for user information, also in the path (`http://u:p/w@host/`
/// is `http://host/`), and text without a scheme loses it too (`u:p@host` is
/// `host`). Only a path with an `@` of its own is shown shorter than it is.
pub fn url(url: &str) -> String {
    let (prefix, rest) = match scheme_len(url) {
        Some(n) => url.split_at(n + "://".len()),
        None if url.starts_with("//") => url.split_at(2),
        None => ("", url),
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let kept = &rest[..end];
    // A relative path (`/token`) has no authority, so no user information.
    let relative = prefix.is_empty() && kept.starts_with('/');
    let kept = match kept.rfind('@') {
        Some(at) if !relative => &kept[at + 1..],
        _ => kept,
    };
    format!("{prefix}{kept}")
}

/// The length of `url`'s scheme when it starts with `SCHEME://` (RFC 3986:
/// a letter, then letters, digits, `+`, `-`, `.`).
fn scheme_len(url: &str) -> Option<usize> {
    let colon = url.find("://")?;
    let scheme = &url[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(colon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_fragment_and_user_info_are_dropped() {
        for (input, shown) in [
            (
                "https://sso.example.com/auth?service=reg&account=alice&secret=x#frag",
                "https://sso.example.com/auth",
            ),
            ("http://bob:hunter2@proxy:3128", "http://proxy:3128"),
            ("http://bob:hunter2@proxy:3128/", "http://proxy:3128/"),
            (
                "https://u%40x:p%3Aw@[::1]:5000/v2/token?x#y",
                "https://[::1]:5000/v2/token",
            ),
            (
                "https://[fe80::1%25eth0]/t?a=b",
                "https://[fe80::1%25eth0]/t",
            ),
            ("HTTPS://Reg.Example.com/v2/", "HTTPS://Reg.Example.com/v2/"),
            ("//user:pw@cdn.example/x?y", "//cdn.example/x"),
            ("/token?account=alice", "/token"),
            ("next?account=alice", "next"),
            ("user:pw@host:5000/path", "host:5000/path"),
            ("http://u:p/w@host/v2/", "http://host/v2/"),
            ("http://host?@evil", "http://host"),
            ("http://host#@evil", "http://host"),
            ("http://a@b@c/d", "http://c/d"),
            ("not a url", "not a url"),
            ("", ""),
            ("1http://u:p@h/", "h/"),
        ] {
            assert_eq!(url(input), shown, "{input}");
        }
    }

    /// A small fixed-seed generator (the fuzz target `redact_url` explores
    /// further): URLs assembled from parts with `?`, `#`, `@`, `%` escapes
    /// and IPv6 hosts come back as scheme, host, port and path, exactly.
    #[test]
    fn generated_urls_keep_only_scheme_host_port_and_path() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        const BYTES: &[u8] = b"aZ09-._~!$&'()*+,;=:@/?#%[]";
        let text = |max: usize, next: &mut dyn FnMut(usize) -> usize| {
            let len = next(max + 1);
            (0..len)
                .map(|_| BYTES[next(BYTES.len())] as char)
                .collect::<String>()
        };
        for _ in 0..20_000 {
            let scheme = ["http", "https", "HTTPS", "git+ssh"][next(4)];
            let host = match next(3) {
                0 => "[2001:db8::1]".to_owned(),
                1 => "reg.example.com".to_owned(),
                _ => "10.0.0.1".to_owned(),
            };
            let port = [String::new(), ":5000".into()][next(2)].clone();
            // Each part escapes what would end it, as a URL writer does.
            let path = format!("/{}", escape(&text(12, &mut next), "?#"));
            let user = escape(&text(12, &mut next), "/?#@");
            let query = escape(&text(12, &mut next), "#");
            let fragment = text(12, &mut next);
            let base = format!("{scheme}://{host}{port}{path}");
            let mut full = format!("{scheme}://");
            if next(2) == 0 {
                full.push_str(&format!("{user}@"));
            }
            full.push_str(&format!("{host}{port}{path}"));
            if next(2) == 0 {
                full.push_str(&format!("?{query}"));
            }
            if next(2) == 0 {
                full.push_str(&format!("#{fragment}"));
            }
            let shown = url(&full);
            if path.contains('@') {
                // Conservative: shown shorter, never with what came before the `@`.
                let after = shown.strip_prefix(&format!("{scheme}://"));
                assert!(
                    after.is_some_and(|a| base.ends_with(a)),
                    "{full} -> {shown}"
                );
                assert!(!shown.contains(['?', '#', '@']), "{full} -> {shown}");
            } else {
                assert_eq!(shown, base, "{full}");
            }
        }
    }

    /// Percent-encodes each of `special` in `text`.
    fn escape(text: &str, special: &str) -> String {
        text.chars()
            .map(|c| {
                if special.contains(c) {
                    format!("%{:02X}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect()
    }
}
