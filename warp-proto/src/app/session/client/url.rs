//! Server URLs: `ws://` and `warp://` (plain TCP), `wss://` and `warps://` (TLS).

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;

/// Where a client connects: the scheme, host, port and request path of a
/// WARP server URL.
///
/// `ws://` and `warp://` mean WebSocket over plain TCP (default port 80); `wss://` and
/// `warps://` mean WebSocket over TLS (default port 443, feature `tls`). The path, `/` when
/// absent, is the target of the upgrade request; a fragment is dropped. User information
/// (`user@host`) is refused.
///
/// ```
/// use warp_proto::app::session::client::ServerUrl;
///
/// let url: ServerUrl = "warp://127.0.0.1:9001".parse()?;
/// assert_eq!((url.host(), url.port(), url.path()), ("127.0.0.1", 9001, "/"));
/// assert!(!url.is_tls());
///
/// let url: ServerUrl = "wss://[::1]/swim?x=1".parse()?;
/// assert_eq!((url.host(), url.port(), url.path()), ("::1", 443, "/swim?x=1"));
/// assert_eq!(url.authority(), "[::1]");
///
/// assert!("http://example.com".parse::<ServerUrl>().is_err());
/// # Ok::<(), warp_proto::app::session::client::UrlError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    scheme: Scheme,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

/// The scheme of a [`ServerUrl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `ws://`: WebSocket over TCP.
    Ws,
    /// `warp://`: the same as `ws://`, the form SwimOS host URIs take.
    Warp,
    /// `wss://`: WebSocket over TLS.
    Wss,
    /// `warps://`: the same as `wss://`.
    Warps,
}

impl Scheme {
    /// The scheme's name, without `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Warp => "warp",
            Scheme::Wss => "wss",
            Scheme::Warps => "warps",
        }
    }

    /// Whether the connection runs over TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Wss | Scheme::Warps)
    }

    /// The port used when the URL names none: 443 with TLS, else 80.
    pub fn default_port(self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }
}

/// Why a string is not a [`ServerUrl`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` prefix.
    MissingScheme,
    /// A scheme other than `ws`, `wss`, `warp`, `warps`.
    UnsupportedScheme(String),
    /// No host after `://`.
    MissingHost,
    /// `user@host` forms are not supported.
    UserInfo,
    /// The host holds characters a host name or IP literal cannot.
    InvalidHost(String),
    /// The port is not a number from 0 to 65535.
    InvalidPort(String),
    /// The path holds whitespace or control characters.
    InvalidPath,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::MissingScheme => {
                f.write_str("missing scheme: expected ws://, wss://, warp:// or warps://")
            }
            UrlError::UnsupportedScheme(s) => write!(
                f,
                "unsupported scheme {s:?}: expected ws://, wss://, warp:// or warps://"
            ),
            UrlError::MissingHost => f.write_str("missing host"),
            UrlError::UserInfo => f.write_str("user information (user@host) is not supported"),
            UrlError::InvalidHost(h) => write!(f, "invalid host {h:?}"),
            UrlError::InvalidPort(p) => write!(f, "invalid port {p:?}"),
            UrlError::InvalidPath => f.write_str("the path holds whitespace or control characters"),
        }
    }
}

impl core::error::Error for UrlError {}

impl ServerUrl {
    /// Parses a server URL (see the [type docs](ServerUrl)).
    pub fn parse(url: &str) -> Result<ServerUrl, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::MissingScheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ws" => Scheme::Ws,
            "warp" => Scheme::Warp,
            "wss" => Scheme::Wss,
            "warps" => Scheme::Warps,
            _ => return Err(UrlError::UnsupportedScheme(scheme.to_string())),
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() {
            return Err(UrlError::MissingHost);
        }
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_authority(authority)?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| UrlError::InvalidPort(p.to_string()))?,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::InvalidPath);
        }
        let path = if path.is_empty() {
            "/".to_string()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(ServerUrl {
            scheme,
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            path,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the connection runs over TLS (`wss://`, `warps://`).
    pub fn is_tls(&self) -> bool {
        self.scheme.is_tls()
    }

    /// The host: a name, an IPv4 address, or an IPv6 address without its brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (the scheme's default when the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The authority as written in the URL (`host[:port]`), sent as the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The request target of the upgrade request: the path and query, `/` when absent.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Splits `host[:port]` or `[v6][:port]`, checking the host's characters.
fn split_authority(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    let invalid = || UrlError::InvalidHost(authority.to_string());
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(invalid)?;
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%'));
        if !ok {
            return Err(invalid());
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(invalid()),
            },
        };
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '%' | '~'));
    if !ok {
        return Err(invalid());
    }
    Ok((host, port))
}

impl FromStr for ServerUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServerUrl::parse(s)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme.as_str(),
            self.authority,
            self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_default_ports() {
        for (url, tls, port) in [
            ("ws://h", false, 80),
            ("WARP://h", false, 80),
            ("wss://h", true, 443),
            ("warps://h:1", true, 1),
        ] {
            let u = ServerUrl::parse(url).unwrap();
            assert_eq!((u.is_tls(), u.port(), u.path()), (tls, port, "/"), "{url}");
        }
    }

    #[test]
    fn query_without_path_gets_a_slash_and_fragment_is_dropped() {
        let u = ServerUrl::parse("ws://h:9?a=b#frag").unwrap();
        assert_eq!(u.path(), "/?a=b");
        assert_eq!(u.authority(), "h:9");
        assert_eq!(u.to_string(), "ws://h:9/?a=b");
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        assert_eq!(ServerUrl::parse("h:9"), Err(UrlError::MissingScheme));
        assert_eq!(
            ServerUrl::parse("http://h"),
            Err(UrlError::UnsupportedScheme("http".into()))
        );
        assert_eq!(ServerUrl::parse("ws:///x"), Err(UrlError::MissingHost));
        assert_eq!(ServerUrl::parse("ws://u@h"), Err(UrlError::UserInfo));
        assert_eq!(
            ServerUrl::parse("ws://h:99999"),
            Err(UrlError::InvalidPort("99999".into()))
        );
        assert_eq!(
            ServerUrl::parse("ws://h:+1"),
            Err(UrlError::InvalidPort("+1".into()))
        );
        assert_eq!(
            ServerUrl::parse("ws://h:"),
            Err(UrlError::InvalidPort("".into()))
        );
        assert!(matches!(
            ServerUrl::parse("ws://[::1"),
            Err(UrlError::InvalidHost(_))
        ));
        assert!(matches!(
            ServerUrl::parse("ws://a b"),
            Err(UrlError::InvalidHost(_))
        ));
        assert_eq!(ServerUrl::parse("ws://h/a b"), Err(UrlError::InvalidPath));
    }

    #[test]
    fn ipv6_literal_with_port() {
        let u = ServerUrl::parse("ws://[::1]:8080/x").unwrap();
        assert_eq!((u.host(), u.port(), u.path()), ("::1", 8080, "/x"));
        assert_eq!(u.authority(), "[::1]:8080");
    }
}
