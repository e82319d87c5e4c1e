"""SmoothOperator: logs a YouTube link to Sade's song (Airflow's joke operator)."""

from leoflow.sdk.baseoperator import BaseOperator


class SmoothOperator(BaseOperator):
    ui_color = "#e8f7e4"
    yt_link = "https://www.youtube.com/watch?v=4TYv2PhG89A"

    def execute(self, context) -> None:
        self.log.info("Enjoy Sade - Smooth Operator: %s", self.yt_link)
