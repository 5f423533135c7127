"""Benchmark: import and export of a 5,000-row catalog table.

    python bench/catalog_import.py            # a temporary SQLite database
    PROCURE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        python bench/catalog_import.py        # the configured database

Generates a realistic county table with openpyxl (title row, header, level-1/level-2
cells merged vertically, several undertaker types per cell, a note row at the end),
imports it into a draft of a throw-away year of 沂南县 (the database is migrated to
"heads" and the divisions loaded first if needed), prints the seconds of each step,
exports the catalog and re-imports the export, then deletes the draft again.
Not a unit test: the requirement (< 10 s for 5,000 rows) is checked by reading it.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LEVEL1 = ["公共服务", "政府履职所需辅助性服务", "社会管理性服务", "行业管理与协调性服务", "技术性服务"]
LEVEL2 = [
    "公共教育", "就业服务", "社会救助", "养老服务", "儿童福利", "残疾人服务", "公共文化", "公共体育",
    "三农服务", "环境治理", "社区建设", "社会工作服务", "法律援助", "人民调解", "法律服务", "课题研究",
    "评估服务", "审计服务", "信息化服务", "后勤服务",
]
ACTIONS = ["走访慰问", "需求评估", "上门服务", "运营管理", "培训辅导", "宣传推广", "巡查保洁", "档案整理", "技术支持"]
TYPES = [
    "社会组织；群团组织", "社会组织；企业", "企业", "社会组织", "企业（律师事务所）；社会组织",
    "事业单位（公益二类）；社会组织；企业", "社会组织、村级组织", "企业，农村集体经济组织", "自然人;社会组织",
]
DEPARTMENTS = ["乡镇民政办", "乡镇综合文化站", "乡镇人社所", "乡镇司法所", "乡镇党政办", "乡镇农业综合服务中心"]
NOTES = [None, None, None, "群团组织优先承接", "按服务时长结算", "评估人员须持证", "每季度不少于一次全覆盖走访"]
HEADER = ["序号", "一级目录", "二级目录", "三级目录（具体服务事项）", "服务内容", "购买主体", "承接主体类型", "参考预算（万元）", "备注"]


def generate(rows: int, seed: int = 2026) -> bytes:
    import openpyxl

    rnd = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "指导性目录"
    ws.append(["某县乡镇政府购买服务指导性目录（基准测试）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    per_level2 = 50  # 5,000 rows: 100 level-2 groups over 5 level-1 categories
    level2_per_level1 = max(1, rows // per_level2 // len(LEVEL1) + 1)
    first_data_row = 3
    for i in range(rows):
        group = i // per_level2
        l1 = LEVEL1[min(group // level2_per_level1, len(LEVEL1) - 1)]
        l2 = f"{LEVEL2[group % len(LEVEL2)]}{group // len(LEVEL2) + 1}"
        start_l2 = i % per_level2 == 0
        start_l1 = i == 0 or LEVEL1[min((i - 1) // per_level2 // level2_per_level1, len(LEVEL1) - 1)] != l1
        name = f"{LEVEL2[group % len(LEVEL2)]}{rnd.choice(ACTIONS)}服务第{i + 1}项"
        content = (
            f"面向辖区{rnd.choice(['老年人', '困境儿童', '残疾人', '农户', '村民', '企业'])}开展"
            f"{rnd.choice(ACTIONS)}，建立服务台账，按季度报送服务记录和满意度调查结果，接受绩效评价"
        )
        budget = rnd.choice([None, None, round(rnd.uniform(0.5, 80), 2)])
        ws.append([
            i + 1,
            l1 if start_l1 else None,
            l2 if start_l2 else None,
            name,
            content,
            rnd.choice(DEPARTMENTS),
            rnd.choice(TYPES),
            budget,
            rnd.choice(NOTES),
        ])
        del start_l1
    # Merge level-1 and level-2 cells vertically like real tables.
    for col in (2, 3):
        start = first_data_row
        for r in range(first_data_row + 1, first_data_row + rows + 1):
            if r == first_data_row + rows or ws.cell(row=r, column=col).value is not None:
                if r - 1 > start:
                    ws.merge_cells(start_row=start, start_column=col, end_row=r - 1, end_column=col)
                start = r
    ws.append([])
    ws.append(["说明：本目录为指导性目录，纳入目录的事项方可实施政府购买服务。"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--year", type=int, default=2099, help="throw-away catalog year (default 2099)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="procure-bench-")
    os.environ.setdefault("PROCURE_INSTANCE_PATH", tmp.name)
    from flask_migrate import upgrade

    from procure import create_app
    from procure.catalog import services, xlsx
    from procure.catalog.models import Catalog
    from procure.extensions import db
    from procure.geo import queries as geo_queries
    from procure.geo import services as geo_services

    app = create_app({"INSTANCE_PATH": os.environ["PROCURE_INSTANCE_PATH"]})
    with app.app_context():
        url = db.engine.url
        print(f"database: {url.render_as_string(hide_password=True)}")
        upgrade(revision="heads")
        if geo_queries.county_by_code(db.session, "371321") is None:
            csv = ROOT / "platform" / "procure" / "demo" / "data" / "shandong-divisions.csv"
            geo_services.import_divisions(db.session, csv.read_text(encoding="utf-8"))
            db.session.commit()
        county = geo_queries.county_by_code(db.session, "371321")
        for old in db.session.scalars(
            db.select(Catalog).where(Catalog.county_id == county.id, Catalog.year == args.year)
        ):
            db.session.delete(old)
        db.session.commit()

        t = time.perf_counter()
        data = generate(args.rows)
        print(f"generated {args.rows} rows ({len(data) / 1024:.0f} KiB) in {time.perf_counter() - t:.2f} s")

        draft = services.create_draft(db.session, county=county, year=args.year, user=None)
        db.session.commit()

        t = time.perf_counter()
        xlsx.parse_workbook(data)
        parse_seconds = time.perf_counter() - t

        t = time.perf_counter()
        report = xlsx.import_catalog(db.session, draft, data)
        db.session.commit()
        import_seconds = time.perf_counter() - t
        print(
            f"import (parse + validate + store + commit): {import_seconds:.2f} s "
            f"[of which parse + validate alone: {parse_seconds:.2f} s] "
            f"-> {report.items} items, {report.categories} categories"
        )

        db.session.expire_all()
        t = time.perf_counter()
        exported = xlsx.export_catalog(db.session.get(Catalog, draft.id))
        print(f"export: {time.perf_counter() - t:.2f} s ({len(exported) / 1024:.0f} KiB)")

        t = time.perf_counter()
        again = xlsx.import_catalog(db.session, db.session.get(Catalog, draft.id), exported)
        db.session.commit()
        print(f"re-import of the export (replacing the contents): {time.perf_counter() - t:.2f} s "
              f"-> {again.items} items")

        services.delete_draft(db.session, db.session.get(Catalog, draft.id))
        db.session.commit()
        ok = import_seconds < 10
        print("OK: under 10 s" if ok else "TOO SLOW: 10 s or more")
        db.engine.dispose()
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
