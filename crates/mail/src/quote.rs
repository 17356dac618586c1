//! Folding quoted history and signatures away for display; the raw message keeps them.

/// Splits a reply into what the person wrote now and what is folded away (quotes of
/// earlier mail, the "On … wrote:" line, the signature).
pub fn fold(text: &str) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    let mut cut = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        let lower = t.to_lowercase();
        let attribution = (lower.ends_with("wrote:")
            || lower.ends_with("написал:")
            || lower.ends_with("написал(а):")
            || lower.ends_with("пишет:"))
            && lines
                .get(i + 1)
                .is_none_or(|n| n.starts_with('>') || n.trim().is_empty());
        let separator = t == "-- "
            || t == "--"
            || lower.starts_with("-----original message-----")
            || lower.starts_with("-----исходное сообщение-----")
            || lower.starts_with("---------- forwarded message")
            || (t.starts_with('>')
                && lines[i..]
                    .iter()
                    .all(|l| l.starts_with('>') || l.trim().is_empty()));
        if attribution || separator {
            cut = i;
            break;
        }
    }
    let visible = lines[..cut].join("\n").trim_end().to_owned();
    let folded = lines[cut..].join("\n");
    if visible.is_empty() {
        // Everything looked like a quote: show it all rather than nothing.
        return (text.trim_end().to_owned(), String::new());
    }
    (visible, folded)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_quotes_and_signature() {
        let (visible, folded) = fold(
            "Спасибо, заработало.\n\nПн, 1 апр. 2025 г. в 10:00, support@okno.test написал:\n> Попробуйте так\n",
        );
        assert_eq!(visible, "Спасибо, заработало.");
        assert!(folded.contains("> Попробуйте так"));
        let (visible, folded) = fold("Ok\n-- \nИван\n+7 900");
        assert_eq!(visible, "Ok");
        assert!(folded.contains("Иван"));
        let (visible, _) = fold("> only quote\n> here");
        assert_eq!(visible, "> only quote\n> here");
    }

    #[test]
    fn inline_answers_stay() {
        let (visible, _) = fold("> вопрос 1\nответ 1\n> вопрос 2\nответ 2");
        assert!(visible.contains("ответ 2"));
    }
}
