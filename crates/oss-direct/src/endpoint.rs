//! Where requests go: the regional endpoint, or an override; virtual-hosted or path style.

use crate::error::{Error, ErrorKind, Result};
use crate::sign::uri_encode;

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
}
