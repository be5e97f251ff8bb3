//! Direct upload to Alibaba Cloud OSS from apps and tools that hold only short-lived STS
//! credentials.

pub mod crc64;
pub mod sign;
