#!/usr/bin/env python3
"""Links the two systems of `ridgeline synth-people` with Splink (DuckDB backend) for comparison
with `ridgeline link`, and writes LINKS.csv in the same columns so `ridgeline link-eval` scores
it. Usage: splink_compare.py DIR OUT.csv. Needs `pip install splink` (in a throwaway venv).

Settings follow Splink's documented defaults for person data: u by random sampling, m by EM
over two blocking rules, the prior from a deterministic rule. Data is cleaned the way Splink's
guide asks (one date format, one sex code); names stay in characters, so Splink's string
comparators see characters, not sounds."""
import sys
import time

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def load(path, columns):
    df = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns=columns)
    df["sex"] = df["sex"].replace({"男": "M", "女": "F"})
    d = df["birth_date"].str.replace("-", "", regex=False)
    df["birth_date"] = d.where(d.str.len() == 8, "")
    df["birth_date"] = df["birth_date"].str[:4] + "-" + df["birth_date"].str[4:6] + "-" + df["birth_date"].str[6:]
    df["birth_year"] = df["birth_date"].str[:4]
    df["surname"] = df["name"].str[:1]
    df["id_number"] = df["id_number"].str.upper()
    for c in df.columns:
        df[c] = df[c].replace({"": None, "--": None})
    return df


def main():
    d, out = sys.argv[1], sys.argv[2]
    started = time.time()
    a = load(f"{d}/a.csv", {"rid": "record_id", "xm": "name", "sfzh": "id_number", "xb": "sex", "csrq": "birth_date", "zz": "address"})
    b = load(f"{d}/b.csv", {})
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="record_id",
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("surname", "birth_date"),
            block_on("name", "birth_year"),
        ],
        comparisons=[
            cl.NameComparison("name"),
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("address", [2, 8]),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(a), db_api.register(b)], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_number", "name")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname", "birth_date"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    rows = []
    for _, r in pred.iterrows():
        ids = (r["record_id_l"], r["record_id_r"])
        a_id, b_id = ids if str(ids[0]).startswith("A") else ids[::-1]
        rows.append((a_id, b_id, r["match_weight"], r["match_probability"], "demographic"))
    pd.DataFrame(rows, columns=["a_record_id", "b_record_id", "weight", "posterior", "evidence"]).to_csv(out, index=False)
    print(f"{len(rows)} links in {time.time() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
