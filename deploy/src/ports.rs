//! Serial ports and which one is the board: an explicit `--port` or
//! `upload_port` wins; otherwise the one port whose USB VID/PID belongs to
//! a known Arduino or USB-serial bridge.

use crate::DeployError;

/// USB vendor/product pairs of boards and USB-serial bridges (`None`
/// product: every product of that vendor).
pub const KNOWN_USB: &[(u16, Option<u16>, &str)] = &[
    (0x2341, None, "Arduino"),
    (0x2A03, None, "Arduino (arduino.org)"),
    (0x1A86, Some(0x7523), "CH340 USB-serial"),
    (0x1A86, Some(0x55D4), "CH9102 USB-serial"),
    (0x0403, Some(0x6001), "FTDI FT232R USB-serial"),
    (0x0403, Some(0x6015), "FTDI FT231X USB-serial"),
    (0x10C4, Some(0xEA60), "Silicon Labs CP210x USB-serial"),
    (0x067B, Some(0x2303), "Prolific PL2303 USB-serial"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    pub usb: Option<(u16, u16)>,
    pub description: String,
}

impl PortInfo {
    /// The known board or bridge this port is, if any.
    pub fn known(&self) -> Option<&'static str> {
        let (vid, pid) = self.usb?;
        KNOWN_USB
            .iter()
            .find(|(v, p, _)| *v == vid && p.is_none_or(|p| p == pid))
            .map(|(_, _, what)| *what)
    }

    pub fn line(&self) -> String {
        match self.usb {
            Some((vid, pid)) => format!("{}  {vid:04x}:{pid:04x}  {}", self.name, self.description),
            None => format!("{}  -          {}", self.name, self.description),
        }
    }
}

/// `fbuild device list`: a header, then a port per line (its USB ids,
/// what it says it is, the board or bridge fbuild knows it as).
pub fn table(ports: &[PortInfo]) -> String {
    let width = ports.iter().map(|p| p.name.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:width$}  VID:PID    Description\n", "Port");
    for p in ports {
        let ids = match p.usb {
            Some((vid, pid)) => format!("{vid:04x}:{pid:04x}"),
            None => "-".to_string(),
        };
        let known = p.known().map(|k| format!("  [{k}]")).unwrap_or_default();
        out.push_str(&format!(
            "{:width$}  {ids:9}  {}{known}\n",
            p.name, p.description
        ));
    }
    out
}

/// `fbuild device list --json-output`: PlatformIO's fields (`port`,
/// `description`, `hwid`), and fbuild's `known`.
pub fn json(ports: &[PortInfo]) -> serde_json::Value {
    ports
        .iter()
        .map(|p| {
            serde_json::json!({
                "port": p.name,
                "description": p.description,
                "hwid": match p.usb {
                    Some((vid, pid)) => format!("USB VID:PID={vid:04X}:{pid:04X}"),
                    None => "n/a".to_string(),
                },
                "known": p.known(),
            })
        })
        .collect()
}

/// The serial ports of this machine.
pub fn list() -> Result<Vec<PortInfo>, DeployError> {
    let ports = serialport::available_ports().map_err(|e| DeployError::ListPorts(e.to_string()))?;
    Ok(ports
        .into_iter()
        .map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(usb) => PortInfo {
                name: p.port_name,
                usb: Some((usb.vid, usb.pid)),
                description: [usb.manufacturer, usb.product]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            },
            other => PortInfo {
                name: p.port_name,
                usb: None,
                description: format!("{other:?}"),
            },
        })
        .collect())
}

/// The port to use: `explicit` if given, else the one known board.
pub fn choose(ports: &[PortInfo], explicit: Option<&str>) -> Result<String, DeployError> {
    if let Some(port) = explicit {
        return Ok(port.to_string());
    }
    let boards: Vec<&PortInfo> = ports.iter().filter(|p| p.known().is_some()).collect();
    let listing = |ps: &[&PortInfo]| {
        ps.iter()
            .map(|p| format!("  {}", p.line()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match boards.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => {
            let all: Vec<&PortInfo> = ports.iter().collect();
            Err(if all.is_empty() {
                DeployError::NoPorts
            } else {
                DeployError::NoBoardPort {
                    listing: listing(&all),
                }
            })
        }
        several => Err(DeployError::SeveralBoardPorts {
            count: several.len(),
            listing: listing(several),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, usb: Option<(u16, u16)>) -> PortInfo {
        PortInfo {
            name: name.into(),
            usb,
            description: "test".into(),
        }
    }

    #[test]
    fn picks_the_one_board() {
        let ports = vec![
            port("/dev/ttyS0", None),
            port("/dev/ttyACM0", Some((0x2341, 0x0043))),
            port("/dev/ttyUSB9", Some((0x1234, 0x5678))),
        ];
        assert_eq!(choose(&ports, None).unwrap(), "/dev/ttyACM0");
        assert_eq!(choose(&ports, Some("/dev/x")).unwrap(), "/dev/x");
    }

    #[test]
    fn none_or_several_are_errors_that_list_ports() {
        let none = vec![port("/dev/ttyS0", None)];
        let e = choose(&none, None).unwrap_err().to_string();
        assert!(
            e.contains("no port looks like an Arduino") && e.contains("/dev/ttyS0"),
            "{e}"
        );
        assert!(matches!(choose(&[], None), Err(DeployError::NoPorts)));
        let two = vec![
            port("/dev/ttyACM0", Some((0x2341, 0x0043))),
            port("/dev/ttyUSB0", Some((0x1A86, 0x7523))),
        ];
        let e = choose(&two, None).unwrap_err().to_string();
        assert!(
            e.contains("2 ports look like boards")
                && e.contains("/dev/ttyUSB0")
                && e.contains("1a86:7523"),
            "{e}"
        );
    }
}
