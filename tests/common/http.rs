//! A loopback HTTP/1.1 server owned by a test: serves files from a
//! directory, counts GETs per path, and can be told to throttle, fail,
//! truncate or corrupt a path. Stops when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Advertise the full length, send this many bytes, close.
    Truncate(usize),
    /// Flip one byte in the middle of the body.
    Corrupt,
    /// Advertise the full length, send this many bytes, then send nothing
    /// more, the connection open, until the server stops.
    Stall(usize),
    /// Read the request and never answer, the connection open, until the
    /// server stops.
    Silent,
}

#[derive(Default)]
struct Shared {
    gets: HashMap<String, usize>,
    faults: HashMap<String, Fault>,
    /// Bytes per second for every body; 0: unthrottled.
    rate: u64,
}

pub struct TestServer {
    addr: std::net::SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn serve(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (shared, root, stop) =
                        (Arc::clone(&shared), root.clone(), Arc::clone(&stop));
                    std::thread::spawn(move || {
                        let _ = handle(conn, &root, &shared, &stop);
                    });
                }
            })
        };
        TestServer {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn gets(&self, path: &str) -> usize {
        *self.shared.lock().unwrap().gets.get(path).unwrap_or(&0)
    }

    pub fn total_gets(&self) -> usize {
        self.shared.lock().unwrap().gets.values().sum()
    }

    pub fn set_fault(&self, path: &str, fault: Option<Fault>) {
        let mut s = self.shared.lock().unwrap();
        match fault {
            Some(f) => s.faults.insert(path.to_string(), f),
            None => s.faults.remove(path),
        };
    }

    pub fn set_rate(&self, bytes_per_sec: u64) {
        self.shared.lock().unwrap().rate = bytes_per_sec;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(
    mut conn: TcpStream,
    root: &std::path::Path,
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let (fault, rate) = {
        let mut s = shared.lock().unwrap();
        *s.gets.entry(path.clone()).or_default() += 1;
        (s.faults.get(&path).copied(), s.rate)
    };
    if let Some(Fault::Silent) = fault {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(());
    }
    if let Some(Fault::Status(code)) = fault {
        return write!(
            conn,
            "HTTP/1.1 {code} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
    // A static server: the query (git's `?service=`) names no other file.
    let file = path.split('?').next().unwrap_or_default();
    let Ok(mut body) = std::fs::read(root.join(file.trim_start_matches('/'))) else {
        return write!(
            conn,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    };
    let full = body.len();
    match fault {
        Some(Fault::Truncate(n) | Fault::Stall(n)) => body.truncate(n.min(full)),
        Some(Fault::Corrupt) if full > 0 => body[full / 2] ^= 0xff,
        _ => {}
    }
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Length: {full}\r\nConnection: close\r\n\r\n"
    )?;
    let chunk = 64 * 1024;
    for part in body.chunks(chunk) {
        conn.write_all(part)?;
        if rate > 0 {
            std::thread::sleep(Duration::from_secs_f64(part.len() as f64 / rate as f64));
        }
    }
    conn.flush()?;
    if let Some(Fault::Stall(_)) = fault {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}
