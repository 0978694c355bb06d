"""The manual tools the agent calls: search the plant's manuals and procedures, and look a nameplate's model up in
the indexed equipment lists. Both cite document and page (or table row) so the answer can show its sources."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from storage import documents
from storage.db import Database
from tools.manual_results import EquipmentResult, ManualSearchResult, PassageOut
from tools.registry import Tool
from tools.result import ToolResult


class ManualTools:
    """Full-text search over the documents added with `hmi-agent docs add`, as model tools."""

    def __init__(self, db: Database):
        self.db = db

    def tools(self) -> list[Tool]:
        return [Tool.from_function(self.search_manuals), Tool.from_function(self.lookup_equipment)]

    def search_manuals(
        self,
        query: Annotated[str, Field(min_length=1, max_length=300)],
        tag: Annotated[str | None, Field(max_length=100)] = None,
        limit: Annotated[int, Field(ge=1, le=10)] = 3,
    ) -> ToolResult:
        """Searches the plant's manuals, operating procedures and equipment lists (English and Chinese) and returns
        the best passages with their document, page and heading, to quote and cite in the answer.

        Args:
            query: What to look for, in the operator's words, e.g. "TIC-101 high high temperature procedure" or
                "反应器温度高高报警处理".
            tag: Only passages that mention this tag or model number as a whole word, e.g. "TIC-101".
            limit: How many passages to return, best first.
        """
        hits = documents.search(self.db, query, tag=tag, limit=limit)
        result = ManualSearchResult(query=query, tag=tag, passages=[PassageOut.of(h) for h in hits])
        return ToolResult(output=result.as_text(), data=result, citations=tuple(p.citation() for p in result.passages))

    def lookup_equipment(
        self,
        model: Annotated[str, Field(min_length=1, max_length=100)],
        serial: Annotated[str | None, Field(max_length=100)] = None,
    ) -> ToolResult:
        """Looks a machine up in the plant's indexed equipment lists (equipment register, obsolete-model lists) by
        the model number read on its nameplate, and returns the matching rows with their column names, or says
        that no list has it.

        Args:
            model: The model / type number exactly as read on the nameplate, e.g. "Y2-280M-4".
            serial: The serial number on the nameplate, if readable; rows with it come first.
        """
        hits = documents.search(self.db, f"{model} {serial or ''}", tag=model, kind="table", limit=5)
        result = EquipmentResult(model=model, serial=serial, rows=[PassageOut.of(h) for h in hits])
        return ToolResult(output=result.as_text(), data=result, citations=tuple(r.citation() for r in result.rows))
