//! Where requests go: the regional endpoint, or an override; virtual-hosted or path style.

use crate::error::{Error, ErrorKind, Result};
use oss_direct_wire::sign::uri_encode;

/// An OSS endpoint: scheme, host (with port) and addressing style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: String,
    host: String,
    path_style: bool,
}

/// `oss-cn-hangzhou` and `cn-hangzhou` both name the region `cn-hangzhou`.
pub fn normalize_region(region: &str) -> &str {
    region.trim().strip_prefix("oss-").unwrap_or(region.trim())
}

impl Endpoint {
    /// The public endpoint of a region: `https://oss-<region>.aliyuncs.com`, virtual-hosted.
    ///
    /// ```
    /// use oss_direct::Endpoint;
    /// let e = Endpoint::for_region("cn-hangzhou");
    /// assert_eq!(e.object_url("b", Some("a b/c.jpg")), "https://b.oss-cn-hangzhou.aliyuncs.com/a%20b/c.jpg");
    /// ```
    pub fn for_region(region: &str) -> Self {
        Self {
            scheme: "https".into(),
            host: format!("oss-{}.aliyuncs.com", normalize_region(region)),
            path_style: false,
        }
    }

    /// An endpoint override such as `http://127.0.0.1:9000` or `oss-cn-hangzhou.aliyuncs.com`
    /// (https when no scheme is given). An IP address or `localhost` means path style
    /// (`/bucket/key`), as the official SDKs do.
    ///
    /// ```
    /// use oss_direct::Endpoint;
    /// let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
    /// assert!(e.is_path_style());
    /// assert_eq!(e.object_url("b", Some("k")), "http://127.0.0.1:9000/b/k");
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let with_scheme = if s.contains("://") {
            s.to_string()
        } else {
            format!("https://{s}")
        };
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                "Endpoint",
                format!("the endpoint {s:?} {why}"),
            )
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must be http:// or https://"));
        }
        if url.path() != "/" && !url.path().is_empty() {
            return Err(bad("must not have a path"));
        }
        let host = url.host().ok_or_else(|| bad("has no host"))?;
        let path_style = match host {
            url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
            url::Host::Domain(d) => d == "localhost",
        };
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        Ok(Self {
            scheme: url.scheme().into(),
            host,
            path_style,
        })
    }

    /// Forces path style (`true`) or virtual-hosted style (`false`).
    pub fn with_path_style(mut self, path_style: bool) -> Self {
        self.path_style = path_style;
        self
    }

    /// Whether requests address the bucket in the path.
    pub fn is_path_style(&self) -> bool {
        self.path_style
    }

    /// `scheme://host[:port]`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// The URL of a bucket (`key` = `None`) or object, without a query string.
    pub fn object_url(&self, bucket: &str, key: Option<&str>) -> String {
        let key = key.map(|k| uri_encode(k, true)).unwrap_or_default();
        if self.path_style {
            format!("{}://{}/{bucket}/{key}", self.scheme, self.host)
        } else {
            format!("{}://{bucket}.{}/{key}", self.scheme, self.host)
        }
    }
}

/// Whether a request to `url` would travel in clear to a host outside the local network: plain
/// `http://` to anything but a loopback, private (RFC 1918, RFC 4193), link-local or `.local`
/// address. For the App server this means the user token and the STS secret could be read on
/// the way. A URL that does not parse is not judged here (`false`).
///
/// ```
/// use oss_direct::endpoint::sends_in_clear_to_remote_host;
/// assert!(sends_in_clear_to_remote_host("http://tokens.example.com/"));
/// assert!(!sends_in_clear_to_remote_host("https://tokens.example.com/"));
/// assert!(!sends_in_clear_to_remote_host("http://192.168.1.10:7080/"));
/// ```
pub fn sends_in_clear_to_remote_host(url: &str) -> bool {
    match url::Url::parse(url.trim()) {
        Ok(u) if u.scheme() == "http" => u.host().is_some_and(|h| !is_local_host(&h)),
        _ => false,
    }
}

/// A one-line warning when [`sends_in_clear_to_remote_host`] holds for the App server `url`.
pub fn cleartext_warning(url: &str) -> Option<String> {
    sends_in_clear_to_remote_host(url).then(|| {
        let host = url::Url::parse(url.trim())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        format!(
            "the App server {host} is plain http:// outside the local network: the user token and \
             the STS credentials would travel in clear; use https://"
        )
    })
}

/// Loopback, private (RFC 1918 / RFC 4193), link-local, unspecified, `localhost` and `.local`
/// (mDNS) hosts.
fn is_local_host(host: &url::Host<&str>) -> bool {
    use std::net::IpAddr;
    let ip_is_local = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                    || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
            }
        },
    };
    match host {
        url::Host::Ipv4(v4) => ip_is_local(IpAddr::V4(*v4)),
        url::Host::Ipv6(v6) => ip_is_local(IpAddr::V6(*v6)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_overrides() {
        assert_eq!(
            Endpoint::for_region("oss-cn-shanghai").base_url(),
            "https://oss-cn-shanghai.aliyuncs.com"
        );
        let e = Endpoint::parse("oss-cn-beijing.aliyuncs.com").unwrap();
        assert!(!e.is_path_style());
        assert_eq!(
            e.object_url("b", None),
            "https://b.oss-cn-beijing.aliyuncs.com/"
        );
        let e = Endpoint::parse("http://localhost:9000").unwrap();
        assert!(e.is_path_style());
        assert_eq!(e.object_url("b", None), "http://localhost:9000/b/");
        let e = Endpoint::parse("http://[::1]:9000").unwrap();
        assert!(e.is_path_style());
        assert_eq!(e.object_url("b", Some("x y")), "http://[::1]:9000/b/x%20y");
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://h/path").is_err());
        assert!(Endpoint::parse("http://").is_err());
    }

    #[test]
    fn cleartext_to_remote_hosts_only() {
        let remote = [
            "http://tokens.example.com/",
            "http://tokens.example.com:7080/sts",
            "http://8.8.8.8/",
            "http://100.64.0.1/",
            "http://172.32.0.1/",
            "http://[2001:db8::1]/",
            "http://[::ffff:8.8.8.8]/",
            "http://printer.local.example.com/",
            "http://myserver/",
            " HTTP://Tokens.Example.com/ ",
        ];
        for u in remote {
            assert!(sends_in_clear_to_remote_host(u), "{u}");
            assert!(cleartext_warning(u).unwrap().contains("http://"), "{u}");
        }
        let local = [
            "http://127.0.0.1:7080/",
            "http://127.8.9.10/",
            "http://localhost:7080/",
            "http://app.localhost/",
            "http://LOCALHOST./",
            "http://10.0.2.2:7080/",
            "http://172.16.0.1/",
            "http://172.31.255.254/",
            "http://192.168.1.10:7080/",
            "http://169.254.1.1/",
            "http://0.0.0.0:7080/",
            "http://[::1]:7080/",
            "http://[fd12:3456::1]/",
            "http://[fc00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://nas.local/",
            "http://nas.LOCAL./",
            // https is fine anywhere; what does not parse is reported elsewhere.
            "https://tokens.example.com/",
            "https://8.8.8.8/",
            "not a url",
            "",
        ];
        for u in local {
            assert!(!sends_in_clear_to_remote_host(u), "{u}");
            assert_eq!(cleartext_warning(u), None, "{u}");
        }
        let w = cleartext_warning("http://tokens.example.com:7080/").unwrap();
        assert!(
            w.contains("tokens.example.com") && w.contains("https://"),
            "{w}"
        );
        assert!(!w.contains('\n'));
    }
}
