use super::*;

/// The frame bytes of a ping, as zccache 1.15.8 reads them (probed
/// with a hand-made frame: `06000000 1a000000 0a00` came back a pong).
#[test]
fn ping_frame_bytes() {
    let request = Request {
        body: Some(RequestBody::Ping(messages::Empty {})),
        request_id: String::new(),
    };
    assert_eq!(request.encode_to_vec(), [0x0a, 0x00]);
    let pong = Response::decode(&[0x0a, 0x00][..]).unwrap();
    assert_eq!(pong.body, Some(ResponseBody::Pong(messages::Empty {})));
}

#[test]
fn a_missing_socket_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let err = ping(&dir.path().join("none.sock"), Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, WireError::Unreachable(_)), "{err:?}");
}

#[cfg(unix)]
#[test]
fn a_silent_listener_is_wedged_and_a_foreign_version_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let err = ping(&sock, Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, WireError::Wedged(_)), "{err:?}");
    let answer = std::thread::spawn(move || {
        // Skip the queued silent connection; answer the next one.
        use std::io::{Read, Write};
        let _first = listener.accept().unwrap();
        let (mut s, _) = listener.accept().unwrap();
        let mut head = [0u8; 10];
        s.read_exact(&mut head).unwrap();
        let error = ResponseBody::Error(messages::WireErrorBody {
            message: "protocol version mismatch: daemon v99".into(),
        });
        s.write_all(&answer_frame(99, error)).unwrap();
    });
    let err = ping(&sock, Duration::from_secs(5)).unwrap_err();
    answer.join().unwrap();
    assert!(
        matches!(&err, WireError::Mismatch(m) if m.contains("version 99")),
        "{err:?}"
    );
}

/// A daemon's answer `body` framed as `[len][version][message]`.
#[cfg(unix)]
fn answer_frame(version: u32, body: ResponseBody) -> Vec<u8> {
    let message = Response {
        body: Some(body),
        request_id: String::new(),
    }
    .encode_to_vec();
    let mut frame = ((message.len() + 4) as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&version.to_le_bytes());
    frame.extend_from_slice(&message);
    frame
}

/// Reads one request frame from `s`.
#[cfg(unix)]
fn read_request(s: &mut std::os::unix::net::UnixStream) {
    use std::io::Read;
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut rest = vec![0u8; u32::from_le_bytes(len) as usize];
    s.read_exact(&mut rest).unwrap();
}

/// A daemon that drops the first connection it took without answering
/// (seen under load) is asked once more; twice dropped is unreachable.
#[cfg(unix)]
#[test]
fn a_connection_closed_before_the_answer_is_tried_once_more() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let call = || CompileCall {
        compiler: Path::new("/usr/bin/gcc"),
        args: vec!["-c".into(), "a.c".into()],
        cwd: dir.path(),
        env: Vec::new(),
        stdin: Vec::new(),
    };
    let daemon = std::thread::spawn(move || {
        // First request: dropped, then answered on the new connection.
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s);
        drop(s);
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s);
        let result = ResponseBody::CompileResult(messages::CompileResult {
            exit_code: 0,
            stdout: b"served".to_vec(),
            stderr: Vec::new(),
            cached: true,
        });
        s.write_all(&answer_frame(WIRE_VERSION, result)).unwrap();
        // Second request: dropped on both connections.
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s);
        }
    });
    let outcome = compile(&sock, call(), Kind::Compile, Budget::default()).unwrap();
    assert_eq!(
        (outcome.stdout.as_slice(), outcome.cached),
        (&b"served"[..], true)
    );
    let err = compile(&sock, call(), Kind::Compile, Budget::default()).unwrap_err();
    daemon.join().unwrap();
    assert!(
        matches!(&err, WireError::Unreachable(m) if m == CLOSED_EARLY),
        "{err:?}"
    );
}
