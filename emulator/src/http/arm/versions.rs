//! api-version checks. Each resource family accepts stable versions in a range and any preview.

use super::route::Family;
use crate::error::ArmError;

struct Accepted {
    oldest: &'static str,
    newest: &'static str,
    /// Listed in the error message.
    known: &'static str,
}

fn accepted(family: Family) -> Accepted {
    match family {
        // azureml-core still sends 2020-01-01 for workspace list/create/delete/listKeys.
        Family::MachineLearning => Accepted {
            oldest: "2018-11-19",
            newest: "2025-04-01",
            known: "2018-11-19, 2019-05-01, 2019-11-01, 2020-01-01, 2020-03-01, 2020-06-01, 2020-08-01, 2021-01-01, 2021-04-01, 2021-07-01, 2022-05-01, 2022-10-01, 2023-04-01, 2023-10-01, 2024-04-01, 2024-10-01, 2025-04-01",
        },
        Family::Resources => Accepted {
            oldest: "2014-04-01",
            newest: "2025-04-01",
            known: "2014-04-01, 2016-06-01, 2018-05-01, 2019-10-01, 2020-01-01, 2021-04-01, 2022-09-01, 2022-12-01, 2024-03-01, 2024-11-01, 2025-04-01",
        },
        Family::ManagedIdentity => Accepted {
            oldest: "2018-11-30",
            newest: "2024-11-30",
            known: "2018-11-30, 2021-09-30-preview, 2022-01-31-preview, 2023-01-31, 2023-07-31-preview, 2024-11-30",
        },
        Family::Authorization => Accepted {
            oldest: "2015-07-01",
            newest: "2025-04-01",
            known: "2015-07-01, 2018-01-01-preview, 2020-04-01-preview, 2022-04-01, 2022-05-01-preview",
        },
    }
}

/// Returns the request's api-version when the family accepts it.
pub fn check(query: &str, family: Family) -> Result<String, ArmError> {
    let version = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(ArmError::missing_api_version)?;
    let a = accepted(family);
    let date = version
        .get(..10)
        .filter(|d| time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).is_ok());
    let suffix = version.get(10..).unwrap_or("").to_ascii_lowercase();
    let ok = match (date, suffix.as_str()) {
        (Some(_), "-preview" | "-privatepreview" | "-beta" | "-alpha") => true,
        (Some(d), "") => (a.oldest..=a.newest).contains(&d),
        _ => false,
    };
    if ok {
        Ok(version)
    } else {
        Err(ArmError::invalid_api_version(&version, a.known))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_previews() {
        assert_eq!(
            check("api-version=2022-05-01", Family::MachineLearning).unwrap(),
            "2022-05-01"
        );
        assert!(check("api-version=2024-10-01-preview", Family::MachineLearning).is_ok());
        assert!(check("api-version=2024-10-01-PREVIEW", Family::MachineLearning).is_ok());
        assert!(check("a=b&API-VERSION=2025-04-01", Family::MachineLearning).is_ok());
        assert_eq!(
            check("", Family::MachineLearning).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert_eq!(
            check("api-version=", Family::Resources).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert!(check("api-version=2020-01-01", Family::MachineLearning).is_ok());
        for bad in ["2018-01-01", "2026-01-01", "latest", "2022-13-01", "2022-05-01-final"] {
            let e = check(&format!("api-version={bad}"), Family::MachineLearning).unwrap_err();
            assert_eq!(e.code, "InvalidApiVersionParameter", "{bad}");
            assert!(e.message.contains(&format!("'{bad}'")));
        }
        assert!(check("api-version=2016-06-01", Family::Resources).is_ok());
    }
}
