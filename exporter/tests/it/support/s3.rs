//! Test-side S3 administration over the real protocol (aws-sdk-s3 against moto): the
//! buckets and objects the S3 tests and the lab need.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

/// Test-side S3 client: sets up buckets and objects over the real protocol.
pub(crate) struct Admin {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
}

impl Admin {
    pub(crate) fn new(endpoint: &str) -> Admin {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let http = aws_smithy_http_client::Builder::new().build_http();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("admin", "admin", None, None, "test"))
            .force_path_style(true)
            .http_client(http)
            .build();
        Admin {
            rt,
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    pub(crate) fn bucket(&self, name: &str, sizes: &[usize]) {
        self.rt.block_on(async {
            self.client
                .create_bucket()
                .bucket(name)
                .send()
                .await
                .expect("create bucket");
            for (i, size) in sizes.iter().enumerate() {
                self.client
                    .put_object()
                    .bucket(name)
                    .key(format!("obj-{i:04}"))
                    .body(ByteStream::from(vec![b'x'; *size]))
                    .send()
                    .await
                    .expect("put object");
            }
        });
    }

    pub(crate) fn delete_bucket(&self, name: &str) {
        self.rt.block_on(async {
            let out = self
                .client
                .list_objects_v2()
                .bucket(name)
                .send()
                .await
                .expect("list");
            for o in out.contents() {
                self.client
                    .delete_object()
                    .bucket(name)
                    .key(o.key().unwrap())
                    .send()
                    .await
                    .expect("delete object");
            }
            self.client
                .delete_bucket()
                .bucket(name)
                .send()
                .await
                .expect("delete bucket");
        });
    }
}
