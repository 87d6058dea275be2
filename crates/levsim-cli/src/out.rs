//! Standard output that [`crate::capture`] can collect: the commands print
//! with `out!` / `outln!`, which write to this thread's capture buffer when
//! one is open and to stdout otherwise.

use std::cell::RefCell;

thread_local! {
    static BUFFER: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Writes `text` to the capture buffer, or to stdout.
pub(crate) fn write(text: std::fmt::Arguments<'_>) {
    let captured = BUFFER.with(|b| match b.borrow_mut().as_mut() {
        Some(buf) => {
            use std::fmt::Write;
            let _ = buf.write_fmt(text);
            true
        }
        None => false,
    });
    if !captured {
        use std::io::Write;
        // A closed pipe (`levsim venues | head`) is not an error worth a panic.
        let _ = std::io::stdout().write_fmt(text);
    }
}

/// Runs `f` with this thread's output collected; returns its result and
/// the text.
pub(crate) fn capturing<R>(f: impl FnOnce() -> R) -> (R, String) {
    let previous = BUFFER.with(|b| b.replace(Some(String::new())));
    let r = f();
    let text = BUFFER.with(|b| b.replace(previous)).unwrap_or_default();
    (r, text)
}

/// `print!` through [`write`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

/// `println!` through [`write`].
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($arg:tt)*) => {{
        $crate::out::write(format_args!($($arg)*));
        $crate::out::write(format_args!("\n"));
    }};
}
