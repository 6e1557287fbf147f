//! Plain-text tables for human output (`ls`, `pair ls`, `check`):
//! left-aligned columns two spaces apart, no trailing spaces, cells cut at
//! [`CELL_MAX_CHARS`].

/// The most characters a cell shows. A longer one (a key or username stored
/// before the length limits, or by an edited index) ends in `…`; `ls --json`
/// and `ls -q` print it whole.
pub(crate) const CELL_MAX_CHARS: usize = 200;

/// A stored name as a cell shows it: printable, cut at [`CELL_MAX_CHARS`].
pub(crate) fn cell(text: &str) -> String {
    let shown = crate::printable::printable(text);
    crate::printable::clipped(&shown, CELL_MAX_CHARS).into_owned()
}

/// Appends `text` and then spaces up to `width` characters. Not `format!`'s
/// `{:<width$}`: that panics for a width over 65,535.
pub(crate) fn push_padded(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    let pad = width.saturating_sub(text.chars().count());
    out.extend(std::iter::repeat_n(' ', pad));
}

/// Renders `headers` and `rows` as aligned lines, each ending in a newline.
/// Cells are stored names: each goes through [`cell`].
pub(crate) fn render<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.each_ref().map(|c| cell(c)))
        .collect();
    let rows = rows.as_slice();
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: [&str; N]| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                push_padded(&mut s, c, w);
                s.push_str("  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

/// Prints the table on stdout.
pub(crate) fn print<const N: usize>(headers: [&str; N], rows: &[[String; N]]) {
    print!("{}", render(headers, rows));
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns_without_trailing_spaces() {
        let out = super::render(
            ["A", "LONG HEADER"],
            &[["wide value".into(), "x".into()], ["é".into(), "".into()]],
        );
        assert_eq!(out, "A           LONG HEADER\nwide value  x\né\n");
    }

    /// A cell over 65,535 characters used to panic in `format!`'s width.
    #[test]
    fn long_cells_are_cut_and_never_panic() {
        let long = "k".repeat(70_000);
        let out = super::render(
            ["SERVER", "USER"],
            &[[long.clone(), "u".into()], ["a".into(), long]],
        );
        let lines: Vec<&str> = out.lines().collect();
        let cut = format!("{}…", "k".repeat(super::CELL_MAX_CHARS - 1));
        assert_eq!(lines[1], format!("{cut}  u"));
        assert_eq!(
            lines[2],
            format!("a{}  {cut}", " ".repeat(super::CELL_MAX_CHARS - 1))
        );
    }
}
