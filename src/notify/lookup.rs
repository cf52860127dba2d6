//! Reads one receiver's credentials and endpoints, with errors that name the receiver
//! and never a value.
use super::error::NotifyError;
use super::secrets::{SecretResolver, SecretString};
use crate::api::SecretKeyRef;

pub(super) struct Lookup<'a, R> {
    pub secrets: &'a R,
    pub namespace: &'a str,
    pub receiver: &'a str,
}

impl<R: SecretResolver> Lookup<'_, R> {
    pub async fn get(&self, r: &SecretKeyRef) -> Result<SecretString, NotifyError> {
        self.secrets
            .resolve(self.namespace, r)
            .await
            .map_err(|e| NotifyError::Secret {
                receiver: self.receiver.to_string(),
                detail: e.to_string(),
            })
    }

    pub async fn optional(
        &self,
        r: Option<&SecretKeyRef>,
    ) -> Result<Option<SecretString>, NotifyError> {
        match r {
            Some(r) => self.get(r).await.map(Some),
            None => Ok(None),
        }
    }

    /// A URL from a Secret (it carries a token); the error never repeats it.
    pub async fn url(&self, r: &SecretKeyRef) -> Result<SecretString, NotifyError> {
        let url = self.get(r).await?;
        if is_http_url(url.expose()) {
            Ok(url)
        } else {
            Err(self.config("the URL in its Secret is not an http(s) URL".into()))
        }
    }

    /// A plain endpoint (no credential in it): the vendor's unless overridden.
    pub fn endpoint(&self, url: Option<&String>, default: &str) -> Result<String, NotifyError> {
        let url = url.map_or(default, String::as_str);
        if is_http_url(url) {
            Ok(url.to_string())
        } else {
            Err(self.config(format!("'{url}' is not an http(s) URL")))
        }
    }

    pub fn config(&self, detail: String) -> NotifyError {
        NotifyError::Config {
            receiver: self.receiver.to_string(),
            detail,
        }
    }
}

pub fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}
