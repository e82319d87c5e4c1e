"""Extract → transform → load, passing data between tasks with TaskFlow (XCom)."""

from airflow.sdk import dag, task


@dag(dag_id="example_etl", schedule=None, catchup=False, tags=["example"])
def example_etl():
    @task
    def extract():
        return {"rows": 100}

    @task
    def transform(data):
        print(f"transform got {data}")
        return {"rows": data["rows"] * 2}

    @task
    def load(data):
        print(f"loaded {data['rows']} rows")
        return data["rows"]

    load(transform(extract()))


example_etl()
