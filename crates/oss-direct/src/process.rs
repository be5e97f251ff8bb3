//! Typed builders for OSS image processing (`x-oss-process=image/...`): thumbnails, watermarks,
//! format and quality conversion, and image info.
//!
//! ```
//! use oss_direct::process::{ImageProcess, Resize, ResizeMode, TextWatermark, Gravity};
//! let p = ImageProcess::new()
//!     .resize(Resize::new(ResizeMode::Lfit).width(200))
//!     .watermark(TextWatermark::new("Hello").size(30).color("FF0000").gravity(Gravity::SouthEast));
//! assert_eq!(p.to_string(), "image/resize,m_lfit,w_200/watermark,text_SGVsbG8,size_30,color_FF0000,g_se");
//! ```

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use std::fmt;

/// How `image/resize` fits the image into the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Fit inside the box, keeping the aspect ratio (the default).
    Lfit,
    /// Cover the box, keeping the aspect ratio.
    Mfit,
    /// Cover the box, then crop the centre.
    Fill,
    /// Fit inside the box, then pad to it.
    Pad,
    /// Exactly the box, ignoring the aspect ratio.
    Fixed,
}

impl ResizeMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lfit => "lfit",
            Self::Mfit => "mfit",
            Self::Fill => "fill",
            Self::Pad => "pad",
            Self::Fixed => "fixed",
        }
    }
}

/// `image/resize` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resize {
    mode: ResizeMode,
    w: Option<u32>,
    h: Option<u32>,
    l: Option<u32>,
    s: Option<u32>,
    limit: Option<bool>,
    color: Option<String>,
}

impl Resize {
    /// A resize in `mode`; set at least one of width, height, longer or shorter side.
    pub fn new(mode: ResizeMode) -> Self {
        Self {
            mode,
            w: None,
            h: None,
            l: None,
            s: None,
            limit: None,
            color: None,
        }
    }
    /// Target width (1..=16384).
    pub fn width(mut self, w: u32) -> Self {
        self.w = Some(w);
        self
    }
    /// Target height (1..=16384).
    pub fn height(mut self, h: u32) -> Self {
        self.h = Some(h);
        self
    }
    /// Target length of the longer side.
    pub fn longer(mut self, l: u32) -> Self {
        self.l = Some(l);
        self
    }
    /// Target length of the shorter side.
    pub fn shorter(mut self, s: u32) -> Self {
        self.s = Some(s);
        self
    }
    /// Whether a smaller image is left as it is (`true`, OSS's default) or enlarged.
    pub fn limit(mut self, limit: bool) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Padding colour for [`ResizeMode::Pad`], hex `RRGGBB`.
    pub fn color(mut self, hex: &str) -> Self {
        self.color = Some(hex.trim_start_matches('#').to_ascii_uppercase());
        self
    }
}

impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resize,m_{}", self.mode.as_str())?;
        for (name, v) in [("w", self.w), ("h", self.h), ("l", self.l), ("s", self.s)] {
            if let Some(v) = v {
                write!(f, ",{name}_{v}")?;
            }
        }
        if let Some(limit) = self.limit {
            write!(f, ",limit_{}", u8::from(limit))?;
        }
        if let Some(c) = &self.color {
            write!(f, ",color_{c}")?;
        }
        Ok(())
    }
}

/// Where a watermark sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gravity {
    /// Top left.
    NorthWest,
    /// Top centre.
    North,
    /// Top right.
    NorthEast,
    /// Middle left.
    West,
    /// Centre.
    Center,
    /// Middle right.
    East,
    /// Bottom left.
    SouthWest,
    /// Bottom centre.
    South,
    /// Bottom right (OSS's default).
    SouthEast,
}

impl Gravity {
    fn as_str(self) -> &'static str {
        match self {
            Self::NorthWest => "nw",
            Self::North => "north",
            Self::NorthEast => "ne",
            Self::West => "west",
            Self::Center => "center",
            Self::East => "east",
            Self::SouthWest => "sw",
            Self::South => "south",
            Self::SouthEast => "se",
        }
    }
}

/// URL-safe base64 without padding, as OSS wants text, fonts and object names in parameters.
pub fn base64url(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Where a watermark sits and how opaque it is (shared by text and image watermarks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Placement {
    gravity: Option<Gravity>,
    x: Option<u32>,
    y: Option<u32>,
    transparency: Option<u8>,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.transparency {
            write!(f, ",t_{t}")?;
        }
        if let Some(g) = self.gravity {
            write!(f, ",g_{}", g.as_str())?;
        }
        if let Some(x) = self.x {
            write!(f, ",x_{x}")?;
        }
        if let Some(y) = self.y {
            write!(f, ",y_{y}")?;
        }
        Ok(())
    }
}

/// The position builders of a watermark with a `placement` field.
macro_rules! placement_builders {
    () => {
        /// Position.
        pub fn gravity(mut self, g: Gravity) -> Self {
            self.placement.gravity = Some(g);
            self
        }
        /// Horizontal and vertical margins in pixels.
        pub fn offset(mut self, x: u32, y: u32) -> Self {
            self.placement.x = Some(x);
            self.placement.y = Some(y);
            self
        }
        /// Opacity in percent (100 = opaque).
        pub fn transparency(mut self, t: u8) -> Self {
            self.placement.transparency = Some(t.min(100));
            self
        }
    };
}

/// A text watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextWatermark {
    text: String,
    font: Option<String>,
    size: Option<u32>,
    color: Option<String>,
    placement: Placement,
}

impl TextWatermark {
    /// Watermark text (at most 64 characters in OSS).
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            font: None,
            size: None,
            color: None,
            placement: Placement::default(),
        }
    }
    /// Font name, e.g. `wqy-zenhei`.
    pub fn font(mut self, font: &str) -> Self {
        self.font = Some(font.into());
        self
    }
    /// Font size in pixels.
    pub fn size(mut self, size: u32) -> Self {
        self.size = Some(size);
        self
    }
    /// Colour, hex `RRGGBB`.
    pub fn color(mut self, hex: &str) -> Self {
        self.color = Some(hex.trim_start_matches('#').to_ascii_uppercase());
        self
    }
    placement_builders!();
}

impl fmt::Display for TextWatermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watermark,text_{}", base64url(&self.text))?;
        if let Some(font) = &self.font {
            write!(f, ",type_{}", base64url(font))?;
        }
        if let Some(v) = self.size {
            write!(f, ",size_{v}")?;
        }
        if let Some(c) = &self.color {
            write!(f, ",color_{c}")?;
        }
        write!(f, "{}", self.placement)
    }
}

/// An image watermark: another object of the same bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageWatermark {
    object: String,
    placement: Placement,
}

impl ImageWatermark {
    /// The watermark image's object name.
    pub fn new(object: impl Into<String>) -> Self {
        Self {
            object: object.into(),
            placement: Placement::default(),
        }
    }
    placement_builders!();
}

impl fmt::Display for ImageWatermark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "watermark,image_{}", base64url(&self.object))?;
        write!(f, "{}", self.placement)
    }
}

/// Output formats of `image/format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG.
    Jpg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
    /// BMP.
    Bmp,
    /// GIF.
    Gif,
}

/// A chain of image operations, rendered as the `x-oss-process` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageProcess {
    steps: Vec<String>,
}

impl ImageProcess {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a resize.
    pub fn resize(mut self, r: Resize) -> Self {
        self.steps.push(r.to_string());
        self
    }
    /// Adds a text watermark.
    pub fn watermark(mut self, w: TextWatermark) -> Self {
        self.steps.push(w.to_string());
        self
    }
    /// Adds an image watermark.
    pub fn image_watermark(mut self, w: ImageWatermark) -> Self {
        self.steps.push(w.to_string());
        self
    }
    /// Converts the format.
    pub fn format(mut self, f: Format) -> Self {
        let name = match f {
            Format::Jpg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
            Format::Gif => "gif",
        };
        self.steps.push(format!("format,{name}"));
        self
    }
    /// Sets the relative quality (1..=100) of JPEG/WebP output.
    pub fn quality(mut self, q: u8) -> Self {
        self.steps.push(format!("quality,q_{}", q.clamp(1, 100)));
        self
    }
    /// Asks for the image's info JSON instead of the image.
    pub fn info(mut self) -> Self {
        self.steps.push("info".into());
        self
    }
}

impl fmt::Display for ImageProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "image/{}", self.steps.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_parameters() {
        let r = Resize::new(ResizeMode::Pad)
            .width(100)
            .height(50)
            .limit(false)
            .color("#ffffff");
        assert_eq!(
            r.to_string(),
            "resize,m_pad,w_100,h_50,limit_0,color_FFFFFF"
        );
        assert_eq!(
            Resize::new(ResizeMode::Fixed)
                .longer(10)
                .shorter(5)
                .to_string(),
            "resize,m_fixed,l_10,s_5"
        );
    }

    #[test]
    fn watermark_text_is_base64url_without_padding() {
        // "a?>" encodes with '+'/'/' in plain base64; OSS wants '-'/'_' and no '='.
        let w = TextWatermark::new("a?>~").offset(10, 20).transparency(150);
        let s = w.to_string();
        assert_eq!(s, "watermark,text_YT8-fg,t_100,x_10,y_20");
        assert_eq!(base64url("阿里云"), "6Zi_6YeM5LqR");
        let i = ImageWatermark::new("logo.png").gravity(Gravity::NorthWest);
        assert_eq!(i.to_string(), "watermark,image_bG9nby5wbmc,g_nw");
    }

    #[test]
    fn chains() {
        let p = ImageProcess::new().format(Format::Webp).quality(0).info();
        assert_eq!(p.to_string(), "image/format,webp/quality,q_1/info");
    }
}
