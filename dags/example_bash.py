"""Classic operators: a Bash command, then Python, with the Airflow 2 import paths still common in the wild."""

import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def report(ds, **context):
    print(f"report for {ds}: {context['ti'].xcom_pull(task_ids='say_hello')}")


with DAG(
    dag_id="example_bash",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["example"],
    default_args={"retries": 1, "retry_delay": datetime.timedelta(seconds=5)},
) as dag:
    hello = BashOperator(task_id="say_hello", bash_command="echo hello from {{ dag.dag_id }} on {{ ds }}")
    summary = PythonOperator(task_id="report", python_callable=report)
    hello >> summary
