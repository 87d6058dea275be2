//! Legend names: a plan's point ids without the parameters their family
//! shares, so that a chart's legend says what differs. Tables keep the
//! full ids (every number traceable to a run).

use std::collections::HashMap;

/// Short legend names for a set of point ids (`[venue/]kind[k=v,…]`).
pub(crate) struct Legend {
    short: HashMap<String, String>,
}

/// A point id's family (`[venue/]kind`) and its `k=v` pairs.
type Split<'a> = (&'a str, Vec<(&'a str, &'a str)>);

/// `kind[k=v,…]` split into the family and its pairs; `None` for an id of
/// another shape (kept whole).
fn split(id: &str) -> Option<Split<'_>> {
    let open = id.find('[')?;
    let inner = id.strip_suffix(']')?.get(open + 1..)?;
    let pairs = inner
        .split(',')
        .map(|p| p.split_once('='))
        .collect::<Option<Vec<_>>>()?;
    Some((&id[..open], pairs))
}

impl Legend {
    /// Within each family of two or more points, the parameters with one
    /// value across the family are left out
    /// (`liquidation_buffer[rule=first_passage,epsilon=0.01]` →
    /// `liquidation_buffer[epsilon=0.01]`); a single point keeps them all.
    pub(crate) fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let parsed: Vec<(&str, Option<Split<'_>>)> =
            ids.into_iter().map(|id| (id, split(id))).collect();
        let mut families: HashMap<&str, Vec<&Vec<(&str, &str)>>> = HashMap::new();
        for (_, p) in &parsed {
            if let Some((fam, pairs)) = p {
                families.entry(fam).or_default().push(pairs);
            }
        }
        let mut short = HashMap::new();
        for (id, p) in &parsed {
            let Some((fam, pairs)) = p else {
                continue;
            };
            let members = &families[fam];
            if members.len() < 2 {
                continue;
            }
            let varies = |k: &str, v: &str| {
                members
                    .iter()
                    .any(|m| m.iter().find(|(mk, _)| *mk == k).map(|(_, mv)| *mv) != Some(v))
            };
            let kept: Vec<String> = pairs
                .iter()
                .filter(|(k, v)| varies(k, v))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if kept.len() < pairs.len() {
                let name = if kept.is_empty() {
                    fam.to_string()
                } else {
                    format!("{fam}[{}]", kept.join(","))
                };
                short.insert(id.to_string(), name);
            }
        }
        Legend { short }
    }

    /// The legend name of a point id (or of a run id `point#path`, whose
    /// path is kept).
    pub(crate) fn name(&self, id: &str) -> String {
        if let Some(s) = self.short.get(id) {
            return s.clone();
        }
        if let Some((point, path)) = id.rsplit_once('#') {
            if let Some(s) = self.short.get(point) {
                return format!("{s}#{path}");
            }
        }
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::Legend;

    #[test]
    fn shared_parameters_leave_the_legend() {
        let ids = [
            "static[leverage=2]",
            "static[leverage=5]",
            "liquidation_buffer[rule=first_passage,epsilon=0.01,horizon_h=24]",
            "liquidation_buffer[rule=first_passage,epsilon=0.05,horizon_h=24]",
            "vol_target[target_vol=1,max_leverage=20]",
            "full/constant_leverage[leverage=3,band=0.1]",
            "partial/constant_leverage[leverage=3,band=0.1]",
            "odd id",
        ];
        let l = Legend::new(ids);
        assert_eq!(l.name("static[leverage=5]"), "static[leverage=5]");
        assert_eq!(
            l.name("liquidation_buffer[rule=first_passage,epsilon=0.05,horizon_h=24]"),
            "liquidation_buffer[epsilon=0.05]"
        );
        assert_eq!(
            l.name("liquidation_buffer[rule=first_passage,epsilon=0.01,horizon_h=24]#7"),
            "liquidation_buffer[epsilon=0.01]#7"
        );
        // A family of one keeps its parameters; venues are families apart.
        assert_eq!(
            l.name("vol_target[target_vol=1,max_leverage=20]"),
            "vol_target[target_vol=1,max_leverage=20]"
        );
        assert_eq!(
            l.name("full/constant_leverage[leverage=3,band=0.1]"),
            "full/constant_leverage[leverage=3,band=0.1]"
        );
        assert_eq!(l.name("odd id"), "odd id");
        let l = Legend::new(["k[a=1,b=2]", "k[a=1,b=3]"]);
        assert_eq!(l.name("k[a=1,b=3]"), "k[b=3]");
    }
}
