//! Arduino sketches: the `.ino` files of a folder become one C++ file, the
//! way the Arduino tools do it: `#include <Arduino.h>` first, the `.ino`
//! files concatenated (the main one first, then the others by name), a
//! prototype for each function the sketch defines (so a function may be
//! used above its definition), and `#line` directives so the compiler
//! reports errors at `src/main.ino:7`, not in the generated file.

/// One `.ino` file: the name to report (relative to the project) and text.
pub struct InoFile {
    pub display: String,
    pub text: String,
}

/// The generated C++ source.
pub fn combine(files: &[InoFile]) -> String {
    let mut out = String::from("#include <Arduino.h>\n");
    let mut prototypes_done = false;
    for file in files {
        let lines: Vec<&str> = file.text.lines().collect();
        let insert_at = if prototypes_done {
            None
        } else {
            first_definition_line(&file.text)
        };
        out.push_str(&format!("#line 1 \"{}\"\n", file.display));
        for (i, line) in lines.iter().enumerate() {
            if Some(i) == insert_at {
                let protos = prototypes(files);
                if !protos.is_empty() {
                    for p in &protos {
                        out.push_str(p);
                        out.push_str(";\n");
                    }
                    out.push_str(&format!("#line {} \"{}\"\n", i + 1, file.display));
                }
                prototypes_done = true;
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Signatures of the functions defined at the top level of all files that
/// are not already declared.
fn prototypes(files: &[InoFile]) -> Vec<String> {
    let mut defined = Vec::new();
    let mut declared = Vec::new();
    for f in files {
        for item in top_level_items(&strip_comments_and_strings(&f.text)) {
            match item {
                Item::Definition(sig) => defined.push(sig),
                Item::Declaration(sig) => declared.push(sig),
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for sig in defined {
        let norm = normalize(&sig);
        if sig.contains('=') || declared.iter().any(|d| normalize(d) == norm) || out.contains(&sig)
        {
            continue; // default arguments cannot be repeated; already declared
        }
        out.push(sig);
    }
    out
}

fn normalize(sig: &str) -> String {
    sig.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum Item {
    Definition(String),
    Declaration(String),
}

/// Top-level `type name(params) {` and `type name(params);` items.
fn top_level_items(code: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut stmt = String::new();
    for c in code.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    if let Some(sig) = function_signature(&stmt) {
                        items.push(Item::Definition(sig));
                    }
                    stmt.clear();
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    stmt.clear();
                }
            }
            ';' if depth == 0 => {
                if let Some(sig) = function_signature(&stmt) {
                    items.push(Item::Declaration(sig));
                }
                stmt.clear();
            }
            '\n' if depth == 0 && stmt.trim_start().starts_with('#') => stmt.clear(),
            _ if depth == 0 => stmt.push(c),
            _ => {}
        }
    }
    items
}

/// `int add(int a, int b)` from the text before a `{` or `;`, if it is a
/// plain function head (not a struct, namespace, control statement or
/// variable initialiser).
fn function_signature(stmt: &str) -> Option<String> {
    let s = stmt.trim();
    let s = s
        .rsplit('\n')
        .take_while(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>();
    let s: String = s.into_iter().rev().collect::<Vec<_>>().join("\n");
    let s = s.trim();
    if !s.ends_with(')') {
        return None;
    }
    let open = s.find('(')?;
    let head = s[..open].trim();
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let name = words.pop()?;
    if words.is_empty()
        || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        || name.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return None;
    }
    const NOT_TYPES: &[&str] = &[
        "struct",
        "class",
        "enum",
        "union",
        "namespace",
        "typedef",
        "return",
        "if",
        "else",
        "while",
        "for",
        "switch",
        "do",
        "using",
        "template",
    ];
    if words.iter().any(|w| NOT_TYPES.contains(w)) || head.contains('=') || head.contains("::") {
        return None;
    }
    Some(normalize(s))
}

/// The 0-based line of the first top-level function definition.
fn first_definition_line(text: &str) -> Option<usize> {
    let code = strip_comments_and_strings(text);
    let mut depth = 0usize;
    let mut stmt_start_line: Option<usize> = None;
    let mut stmt = String::new();
    let mut line = 0usize;
    for c in code.chars() {
        if c == '\n' {
            line += 1;
            if depth == 0 && stmt.trim_start().starts_with('#') {
                stmt.clear();
                stmt_start_line = None;
            }
        }
        match c {
            '{' if depth == 0 => {
                if function_signature(&stmt).is_some() {
                    return stmt_start_line;
                }
                depth += 1;
                stmt.clear();
                stmt_start_line = None;
            }
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                stmt.clear();
                stmt_start_line = None;
            }
            _ if depth == 0 => {
                if stmt_start_line.is_none() && !c.is_whitespace() {
                    stmt_start_line = Some(line);
                }
                stmt.push(c);
            }
            _ => {}
        }
    }
    None
}

/// The text with comments and string/char literals blanked (newlines kept,
/// so line numbers stay right).
fn strip_comments_and_strings(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == '"' || c == '\'' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Headers a source includes (`#include <x.h>` and `"x.h"`), in order.
pub fn includes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l
                .trim_start()
                .strip_prefix('#')?
                .trim_start()
                .strip_prefix("include")?
                .trim();
            let (open, close) = match l.chars().next()? {
                '<' => ('<', '>'),
                '"' => ('"', '"'),
                _ => return None,
            };
            let rest = l.strip_prefix(open)?;
            Some(rest[..rest.find(close)?].to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototypes_and_line_directives() {
        let main = InoFile {
            display: "src/main.ino".into(),
            text: "// blink\n#define LED 13\nint count = 0; // a { brace in a comment\n\nvoid setup() {\n  pinMode(LED, OUTPUT);\n}\n\nvoid loop() { blink(2, \"}\"); }\n\nvoid blink(int n, const char *s) {\n  for (int i = 0; i < n; i++) { digitalWrite(LED, HIGH); }\n}\nstatic int twice(int x) { return 2 * x; }\nint withDefault(int x = 3) { return x; }\n".into(),
        };
        let extra = InoFile {
            display: "src/util.ino".into(),
            text: "int helper(void);\nint helper(void) { return 4; }\n".into(),
        };
        let out = combine(&[main, extra]);
        let expected_head = "#include <Arduino.h>\n#line 1 \"src/main.ino\"\n// blink\n#define LED 13\nint count = 0; // a { brace in a comment\n\nvoid setup();\nvoid loop();\nvoid blink(int n, const char *s);\nstatic int twice(int x);\n#line 5 \"src/main.ino\"\nvoid setup() {\n";
        assert!(out.starts_with(expected_head), "{out}");
        assert!(!out.contains("int withDefault(int x = 3);"), "{out}");
        assert!(
            !out.contains("int helper(void);\nvoid"),
            "declared helper gets no prototype: {out}"
        );
        assert!(
            out.contains("#line 1 \"src/util.ino\"\nint helper(void);\n"),
            "{out}"
        );
    }

    #[test]
    fn finds_includes() {
        let inc = includes("#include <Wire.h>\n  # include \"lib.h\" // x\n#define X <no.h>\n");
        assert_eq!(inc, vec!["Wire.h", "lib.h"]);
    }
}
